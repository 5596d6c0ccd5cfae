import type { Kysely } from 'kysely';
import { countDirectoryContents, findDirectory } from '../../storage/directories.ts';
import { setTicketDirectory } from '../../storage/tickets.ts';
import type { Database, SsoTicketRow } from '../../storage/schema.ts';
import type { Actor } from '../actor.ts';
import type { Provider } from '../connections/presets.ts';
import { AppError } from '../errors.ts';
import type { DirectoryService } from '../scim/directories.ts';
import { scimBaseUrl } from '../scim/views.ts';
import { directoryProviderFor } from './directory-guides.ts';

/** The Directory sync step's directory, as the setup page shows it and its status script polls it. */
export interface SetupDirectory {
  id: string;
  baseUrl: string;
  /** `pending` until the IdP's first authenticated SCIM request, then `active`. */
  state: 'pending' | 'active';
  users: number;
  groups: number;
  lastRequestAt: string | null;
}

export interface DirectorySetupDeps {
  readonly db: Kysely<Database>;
  readonly config: { readonly publicUrl: string };
  readonly directories: Pick<DirectoryService, 'create' | 'rotateToken' | 'delete'>;
}

/**
 * The setup page's Directory sync step (issue 14, "Setup"), for tickets created with
 * `provisioning: {scim: true}`: one SCIM directory per ticket, created by the ticket (its actor,
 * confined to its organization) the first time the IT admin asks for a token, and rotated (the
 * previous token working for the default grace period) each time after. It does not depend on the
 * single sign-on steps, and works on a completed ticket too: activating SSO does not wait for it.
 */
export function createDirectorySetup(deps: DirectorySetupDeps) {
  const { db, directories } = deps;
  const actorOf = (ticket: SsoTicketRow, requestId: string | null): Actor => ({
    id: ticket.id,
    organizationId: ticket.organization_id,
    requestId,
  });
  const offered = (ticket: SsoTicketRow) => ticket.provisioning.scim === true;

  return {
    /** The ticket's directory with what the IdP sent so far; null before a token was asked for (or without SCIM). */
    async status(ticket: SsoTicketRow): Promise<SetupDirectory | null> {
      if (!offered(ticket) || ticket.directory_id === null) return null;
      const row = await findDirectory(db, ticket.directory_id);
      if (row === undefined) return null;
      return {
        id: row.id,
        baseUrl: scimBaseUrl(deps.config.publicUrl, row.id),
        state: row.state,
        ...(await countDirectoryContents(db, row.id)),
        lastRequestAt: row.last_request_at?.toISOString() ?? null,
      };
    },

    /**
     * A SCIM token for the ticket's directory, shown once: the directory is created with the first
     * (its provider that of the SSO connection, for the notes), and each later one rotates it.
     * The ticket as it now is (with its directory) comes back with the token.
     */
    async issueToken(
      ticket: SsoTicketRow,
      ssoProvider: Provider,
      requestId: string | null,
    ): Promise<{ token: string; ticket: SsoTicketRow }> {
      if (!offered(ticket)) throw new AppError('validation_failed', 'this setup link does not include directory sync', []);
      const actor = actorOf(ticket, requestId);
      if (ticket.directory_id !== null && (await findDirectory(db, ticket.directory_id)) !== undefined)
        return { token: tokenOf(await directories.rotateToken(actor, ticket.directory_id, {})), ticket };
      const created = await directories.create(actor, {
        organizationId: ticket.organization_id,
        provider: directoryProviderFor(ssoProvider),
      });
      if (!(await setTicketDirectory(db, ticket.id, created.id))) {
        // Another request (a second click) created the ticket's directory first: keep only that one.
        await directories.delete(actor, created.id);
        throw new AppError('conflict', 'a SCIM token was generated for this setup in another request meanwhile');
      }
      return { token: tokenOf(created), ticket: { ...ticket, directory_id: created.id } };
    },
  };
}

function tokenOf(view: { scim: { token?: string | undefined } }): string {
  if (view.scim.token === undefined) throw new Error('the directory service returned no token');
  return view.scim.token;
}

export type DirectorySetup = ReturnType<typeof createDirectorySetup>;
