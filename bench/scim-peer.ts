/**
 * The peer SCIM server of bench/scim.ts, run as its own process: SCIMMY (`scimmy`, the SCIM 2.0
 * protocol library: schemas, filters, PATCH, list responses) behind its Express routers
 * (`scimmy-routers`), with the store SCIMMY leaves to its user kept in memory, as SCIMMY's own
 * examples do: a Map per resource type, a userName index for uniqueness, and `filter.match()` over
 * the stored resources for lists. Prints `listening <port>` once ready. Bearer token: argv[2].
 */
import { randomUUID } from 'node:crypto';

type Stored = Record<string, unknown> & { id: string; meta: { created: string; lastModified: string } };
interface ScimResourceRequest {
  id?: string;
  filter?: { match(values: readonly Stored[]): Stored[] };
}
interface ResourceClass {
  ingress(handler: (resource: ScimResourceRequest, instance: Record<string, unknown>) => Promise<Stored>): ResourceClass;
  egress(handler: (resource: ScimResourceRequest) => Promise<Stored | Stored[]>): ResourceClass;
  degress(handler: (resource: ScimResourceRequest) => Promise<void>): ResourceClass;
}
interface Scimmy {
  Resources: { declare(resource: unknown): ResourceClass; User: unknown; Group: unknown };
  Types: { Error: new (status: number, scimType: string | null, message: string) => Error };
}
interface ExpressApp {
  use(path: string, handler: unknown): void;
  post(path: string, ...handlers: unknown[]): void;
  listen(port: number, host: string, ready: () => void): { address(): { port: number } | string | null; keepAliveTimeout: number };
}
type Express = (() => ExpressApp) & { json(options: { type: string[]; limit: string }): unknown };

// Computed specifiers: the root tsc neither resolves nor checks them; Node finds them in bench/node_modules.
const load = async (name: string) => (await import(name)) as { default: unknown };
const SCIMMY = (await load('scimmy')).default as Scimmy;
const SCIMMYRouters = (await load('scimmy-routers')).default as new (options: Record<string, unknown>) => unknown;
const express = (await load('express')).default as Express;

const token = process.argv[2] ?? '';
const users = new Map<string, Stored>();
const groups = new Map<string, Stored>();
const userNames = new Map<string, string>();

/** Stores a written resource: a new id on create, the same id and created time on replace. */
function store(map: Map<string, Stored>, resource: ScimResourceRequest, instance: Record<string, unknown>): Stored {
  const now = new Date().toISOString();
  const previous = resource.id === undefined ? undefined : map.get(resource.id);
  if (resource.id !== undefined && previous === undefined) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
  const id = previous?.id ?? randomUUID();
  const plain = JSON.parse(JSON.stringify(instance)) as Record<string, unknown>;
  const stored: Stored = { ...plain, id, meta: { created: previous?.meta.created ?? now, lastModified: now } };
  map.set(id, stored);
  return stored;
}

function read(map: Map<string, Stored>, resource: ScimResourceRequest): Stored | Stored[] {
  if (resource.id !== undefined) {
    const found = map.get(resource.id);
    if (found === undefined) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
    return found;
  }
  const all = [...map.values()];
  return resource.filter ? resource.filter.match(all) : all;
}

SCIMMY.Resources.declare(SCIMMY.Resources.User)
  .ingress(async (resource, instance) => {
    const key = String(instance.userName).toLowerCase();
    const holder = userNames.get(key);
    if (holder !== undefined && holder !== resource.id) throw new SCIMMY.Types.Error(409, 'uniqueness', 'userName is taken');
    const stored = store(users, resource, instance);
    for (const [name, id] of userNames) if (id === stored.id && name !== key) userNames.delete(name);
    userNames.set(key, stored.id);
    return stored;
  })
  .egress(async (resource) => read(users, resource))
  .degress(async (resource) => {
    const found = resource.id === undefined ? undefined : users.get(resource.id);
    if (found === undefined) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id ?? ''} not found`);
    users.delete(found.id);
    userNames.delete(String(found.userName).toLowerCase());
  });
SCIMMY.Resources.declare(SCIMMY.Resources.Group)
  .ingress(async (resource, instance) => store(groups, resource, instance))
  .egress(async (resource) => read(groups, resource))
  .degress(async (resource) => {
    if (resource.id === undefined || !groups.delete(resource.id)) throw new SCIMMY.Types.Error(404, null, 'Resource not found');
  });

const app = express();
// Grows the store without HTTP round trips, as bench/scim.ts grows Lanyard's table with SQL.
app.post(
  '/bench/seed',
  express.json({ type: ['application/json'], limit: '1mb' }),
  (request: { body: { from: number; to: number } }, response: { json(v: unknown): void }) => {
    const now = new Date().toISOString();
    for (let n = request.body.from; n < request.body.to; n++) {
      const id = randomUUID();
      // The shape bench/scim.ts provisions (and grows Lanyard's table with).
      const userName = `user${n}@bench.example`;
      users.set(id, {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        id,
        userName,
        externalId: `ext-${n}`,
        active: true,
        displayName: `Bench User ${n}`,
        name: { givenName: 'Bench', familyName: `User ${n}` },
        emails: [{ value: userName, type: 'work', primary: true }],
        meta: { created: now, lastModified: now },
      });
      userNames.set(userName, id);
    }
    response.json({ users: users.size });
  },
);
app.use(
  '/scim/v2',
  new SCIMMYRouters({
    type: 'bearer',
    docUri: 'https://example.com/scim',
    handler: (request: { header(name: string): string | undefined }) => {
      if (request.header('authorization') !== `Bearer ${token}`) throw new Error('Authorization not detected!');
      return 'bench';
    },
  }),
);
const server = app.listen(0, '127.0.0.1', () => {
  // The client's keep-alive sockets sit idle while the other stack is measured or grown.
  server.keepAliveTimeout = 600_000;
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : 0}\n`);
});
