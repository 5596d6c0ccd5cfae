// SCIM test helpers: a directory of a fresh organization, and requests to its SCIM API through app.inject.
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { TestApp } from './app.ts';

export interface TestDirectory {
  readonly id: string;
  readonly organizationId: string;
  readonly token: string;
  readonly baseUrl: string;
}

/** An organization with one directory; `provider` and `options` go into the create body. */
export async function createDirectory(t: TestApp, body: Record<string, unknown> = {}): Promise<TestDirectory> {
  const org = await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: `Org ${Math.random()}` } });
  if (org.statusCode !== 201) throw new Error(`organization: ${org.statusCode} ${org.body}`);
  const organizationId = org.json().id as string;
  const created = await t.request({ method: 'POST', url: '/v1/directories', payload: { organizationId, ...body } });
  if (created.statusCode !== 201) throw new Error(`directory: ${created.statusCode} ${created.body}`);
  const directory = created.json();
  return { id: directory.id, organizationId, token: directory.scim.token, baseUrl: directory.scim.baseUrl };
}

export interface ScimRequest {
  readonly method: InjectOptions['method'];
  /** Below the directory's base, e.g. `/Users?filter=…`. */
  readonly path: string;
  readonly body?: unknown;
  /** Defaults to the directory's token; null sends no Authorization. */
  readonly token?: string | null;
  readonly headers?: Record<string, string>;
}

/** One SCIM request to `directory`, as an IdP sends it (application/scim+json). */
export function scim(t: TestApp, directory: Pick<TestDirectory, 'id' | 'token'>, request: ScimRequest): Promise<LightMyRequestResponse> {
  const token = request.token === undefined ? directory.token : request.token;
  const headers: Record<string, string> = { ...(request.headers ?? {}) };
  if (token !== null) headers.authorization ??= `Bearer ${token}`;
  if (request.body !== undefined) headers['content-type'] ??= 'application/scim+json; charset=utf-8';
  return t.app.inject({
    method: request.method,
    url: `/scim/v2/${directory.id}${request.path}`,
    headers,
    ...(request.body !== undefined ? { payload: typeof request.body === 'string' ? request.body : JSON.stringify(request.body) } : {}),
  });
}

/** A `?filter=` query string, encoded. */
export function filter(text: string, extra = ''): string {
  return `?filter=${encodeURIComponent(text)}${extra}`;
}

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** A PatchOp body. */
export function patchOp(...operations: Record<string, unknown>[]): Record<string, unknown> {
  return { schemas: [PATCH_OP], Operations: operations };
}
