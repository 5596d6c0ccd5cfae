/**
 * Part 3: management API throughput with autocannon: `POST /v1/connections` (each request a new
 * SAML connection, so the certificate is parsed and the row and its event written every time) and
 * `GET /v1/connections/{id}`, interleaved round by round.
 */
import { samlConnectionBody } from './login.ts';
import { loadAutocannon, type AutocannonRequest } from './peers.ts';
import { median } from './stats.ts';

export interface ApiResult {
  readonly operation: 'create' | 'read';
  readonly requestsPerSecMedian: number;
  readonly perRound: number[];
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
}

export async function runManagement(options: {
  url: string;
  apiToken: string;
  organizationId: string;
  connectionId: string;
  rounds: number;
  seconds: number;
  connections: number;
  log: (line: string) => void;
}): Promise<ApiResult[]> {
  const autocannon = await loadAutocannon();
  const headers = { authorization: `Bearer ${options.apiToken}`, 'content-type': 'application/json' };
  let serial = 0;
  const create: AutocannonRequest = {
    method: 'POST',
    path: '/v1/connections',
    headers,
    setupRequest: (request) => {
      const n = serial++;
      return {
        ...request,
        body: JSON.stringify(samlConnectionBody(options.organizationId, `Load ${n}`, `https://idp-${n}.load.bench.test/metadata`)),
      };
    },
  };
  const read: AutocannonRequest = {
    method: 'GET',
    path: `/v1/connections/${options.connectionId}`,
    headers: { authorization: headers.authorization },
  };
  const operations = { create, read } as const;
  type Sample = { rps: number; p50: number; p99: number; non2xx: number; errors: number };
  const samples: Record<'create' | 'read', Sample[]> = { create: [], read: [] };
  // A short unmeasured run of each first: JIT, connection pools, prepared plans.
  for (const request of Object.values(operations))
    await autocannon({ url: options.url, connections: options.connections, duration: 1, requests: [request] });
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? (['create', 'read'] as const) : (['read', 'create'] as const);
    for (const op of order) {
      const result = await autocannon({
        url: options.url,
        connections: options.connections,
        duration: options.seconds,
        requests: [operations[op]],
      });
      samples[op].push({
        rps: result['2xx'] / result.duration,
        p50: result.latency.p50,
        p99: result.latency.p99,
        non2xx: result.non2xx,
        errors: result.errors + result.timeouts,
      });
    }
    options.log(
      `management: round ${round + 1}/${options.rounds}  create ${Math.round(samples.create.at(-1)!.rps)}/s, read ${Math.round(samples.read.at(-1)!.rps)}/s`,
    );
  }
  return (['create', 'read'] as const).map((operation) => {
    const s = samples[operation];
    return {
      operation,
      requestsPerSecMedian: median(s.map((x) => x.rps)),
      perRound: s.map((x) => x.rps),
      p50Ms: median(s.map((x) => x.p50)),
      p99Ms: median(s.map((x) => x.p99)),
      non2xx: s.reduce((sum, x) => sum + x.non2xx, 0),
      errors: s.reduce((sum, x) => sum + x.errors, 0),
    };
  });
}
