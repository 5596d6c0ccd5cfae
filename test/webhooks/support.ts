// Shared set-up of the webhook delivery tests: an app with a movable clock, an organization, and an
// endpoint scoped to it that points at a real receiver on loopback.
import { createTestApp, type Backend, type TestApp } from '../support/app.ts';
import type { Receiver } from '../support/webhook-receiver.ts';

export interface Harness {
  readonly t: TestApp;
  /** Moves Lanyard's clock (and the receiver's judgement of timestamps) forward. */
  readonly advance: (ms: number) => void;
  readonly now: () => Date;
}

/** A test app whose clock starts at the real time and moves only when told. */
export async function createHarness(backend: Backend): Promise<Harness> {
  let now = Date.now();
  const t = await createTestApp({ backend, env: { LANYARD_ALLOW_PRIVATE_NETWORK: 'true' }, clock: () => new Date(now) });
  return {
    t,
    advance: (ms) => {
      now += ms;
    },
    now: () => new Date(now),
  };
}

/** An organization and an endpoint for its events at `receiver`, which is told the secret. */
export async function endpointFor(t: TestApp, receiver: Receiver, extra: Record<string, unknown> = {}) {
  const org = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Webhook test org' } })).json<{ id: string }>();
  const res = await t.request({
    method: 'POST',
    url: '/v1/webhook-endpoints',
    payload: { url: receiver.url, organizationId: org.id, ...extra },
  });
  if (res.statusCode !== 201) throw new Error(`creating the endpoint failed: ${res.body}`);
  const endpoint = res.json<{ id: string; secret: string }>();
  receiver.secrets = [endpoint.secret];
  return { org, endpoint };
}

/** Records an `organization.updated` event (a rename) and returns its event id. */
export async function renameOrganization(t: TestApp, orgId: string, name: string): Promise<string> {
  await t.request({ method: 'PATCH', url: `/v1/organizations/${orgId}`, payload: { name } });
  const events = (await t.request({ method: 'GET', url: `/v1/events?organizationId=${orgId}&type=organization.updated&limit=100` })).json<{
    data: { id: string }[];
  }>();
  const last = events.data[events.data.length - 1];
  if (last === undefined) throw new Error('no organization.updated event');
  return last.id;
}

/** The endpoint's deliveries as the API lists them. */
export async function deliveriesOf(t: TestApp, endpointId: string, query = '') {
  const res = await t.request({ method: 'GET', url: `/v1/webhook-endpoints/${endpointId}/deliveries?limit=100${query}` });
  if (res.statusCode !== 200) throw new Error(`listing deliveries failed: ${res.body}`);
  return res.json<{
    data: {
      id: string;
      eventId: string;
      eventType: string;
      status: string;
      attemptCount: number;
      nextAttemptAt: string | null;
      attempts: { statusCode: number | null; error: string | null; latencyMs: number; responseBody: string | null }[];
    }[];
  }>().data;
}
