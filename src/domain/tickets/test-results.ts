import type { Transaction } from 'kysely';
import type { Clock, RandomBytes } from '../../crypto/tokens.ts';
import type { Database, LoginFlowRow } from '../../storage/schema.ts';
import { recordEvent } from '../events/events.ts';
import type { Profile } from '../oauth/profile.ts';

/** What a test sign-in from a setup page ended with, as its result page shows it. */
export type SetupTestResult =
  { ok: true; profile: Profile; at: string } | { ok: false; code: string; message: string; facts: [string, string][]; at: string };

/** The outcome handed over by the login code, before it is timestamped. */
export type SetupTestOutcome =
  { ok: true; profile: Profile } | { ok: false; code: string; message: string; facts?: readonly (readonly [string, string])[] | undefined };

/**
 * Ends a test sign-in: the outcome is kept on its flow for the result page, the ticket remembers
 * its latest test, and an event records it. Returns where to send the browser (the result page the
 * flow was created with). No code is issued and the connection's usage is not touched: no app asked.
 * Call it with the transaction that ends the flow, so the outcome and the flow's end commit together.
 */
export async function recordSetupTestResult(
  trx: Transaction<Database>,
  deps: { clock: Clock; random: RandomBytes },
  flow: LoginFlowRow,
  outcome: SetupTestOutcome,
  requestId: string | null,
): Promise<string> {
  const ticketId = flow.setup_ticket_id;
  if (ticketId === null) throw new Error('recordSetupTestResult: the flow is not a test sign-in');
  const now = deps.clock();
  const result: SetupTestResult = outcome.ok
    ? { ok: true, profile: outcome.profile, at: now.toISOString() }
    : {
        ok: false,
        code: outcome.code,
        message: outcome.message,
        facts: (outcome.facts ?? []).map(([k, v]) => [k, v]),
        at: now.toISOString(),
      };
  await trx
    .updateTable('login_flows')
    .set({ test_result: JSON.stringify(result), completed_at: now })
    .where('id', '=', flow.id)
    .execute();
  await trx
    .updateTable('sso_tickets')
    .set({ last_test_flow_id: flow.id, last_test_at: now, last_test_ok: outcome.ok })
    .where('id', '=', ticketId)
    .execute();
  const summary = outcome.ok
    ? { ticketId, connectionId: flow.connection_id, flowId: flow.id, email: outcome.profile.email, idpId: outcome.profile.idpId }
    : { ticketId, connectionId: flow.connection_id, flowId: flow.id, code: outcome.code, message: outcome.message };
  const actor = { id: ticketId, organizationId: flow.organization_id, requestId };
  await recordEvent(trx, { now, random: deps.random }, actor, {
    type: outcome.ok ? 'sso_ticket.test_succeeded' : 'sso_ticket.test_failed',
    organizationId: flow.organization_id,
    summary,
  });
  return flow.redirect_uri;
}

/** The stored result of a test flow, or undefined while the sign-in has not come back. */
export function testResultOf(flow: LoginFlowRow): SetupTestResult | undefined {
  return (flow.test_result ?? undefined) as SetupTestResult | undefined;
}
