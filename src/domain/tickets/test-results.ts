import type { Clock, RandomBytes } from '../../crypto/tokens.ts';
import { recordTestResult } from '../../storage/login-flows.ts';
import type { LoginFlowRow, TestSignInResult } from '../../storage/schema.ts';
import { markLastTest } from '../../storage/tickets.ts';
import { recordEvent } from '../events/events.ts';
import type { TestSignInResults } from '../login/ports.ts';

/**
 * Ends test sign-ins for the login (its TestSignInResults port): the outcome is kept on its flow
 * for the result page, the ticket remembers its latest test, and an event records it. Returns
 * where to send the browser (the result page the flow was created with). No code is issued and
 * the connection's usage is not touched: no app asked. Runs in the transaction that ends the flow,
 * so the outcome and the flow's end commit together.
 */
export function createTestSignInResults(deps: { clock: Clock; random: RandomBytes }): TestSignInResults {
  return {
    async record(trx, flow, outcome, requestId) {
      const ticketId = flow.setup_ticket_id;
      if (ticketId === null) throw new Error('a test sign-in result for a flow that is not a test sign-in');
      const now = deps.clock();
      const result: TestSignInResult = outcome.ok
        ? { ok: true, profile: outcome.profile, at: now.toISOString() }
        : { ok: false, code: outcome.code, message: outcome.message, facts: outcome.facts.map(([k, v]) => [k, v]), at: now.toISOString() };
      await recordTestResult(trx, flow.id, result, now);
      await markLastTest(trx, ticketId, { flowId: flow.id, at: now, ok: outcome.ok });
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
    },
  };
}

/** The stored result of a test flow, or undefined while the sign-in has not come back. */
export function testResultOf(flow: LoginFlowRow): TestSignInResult | undefined {
  return flow.test_result ?? undefined;
}
