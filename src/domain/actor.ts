import { AppError } from './errors.ts';

/**
 * Who is acting: an API key (admin when `organizationId` is null, else confined to that
 * organization), the CLI, or the system itself. Services receive it to scope reads and to
 * attribute audit events.
 */
export interface Actor {
  readonly id: string;
  readonly organizationId: string | null;
  readonly requestId: string | null;
}

/** The actor for work the service does on its own behalf (bootstrap, logins). */
export const SYSTEM_ACTOR: Actor = Object.freeze({ id: 'system', organizationId: null, requestId: null });

/** True when the actor may see this organization's resources. */
export function canSee(actor: Actor, organizationId: string): boolean {
  return actor.organizationId === null || actor.organizationId === organizationId;
}

/** Refuses actors confined to one organization (403): the action spans organizations. */
export function requireAdmin(actor: Actor, action: string): void {
  if (actor.organizationId !== null) throw new AppError('forbidden', `an organization API key cannot ${action}; use an admin key`);
}
