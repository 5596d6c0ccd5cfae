// The request log as the process writes it (pino JSON lines through Fastify's request logging):
// no code, token or secret sent in a URL may reach it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createDeps } from '../../src/deps.ts';
import { redactUrl } from '../../src/http/log-redaction.ts';
import { openTestDatabase, type TestDatabase } from '../support/app.ts';

describe('the request log', () => {
  let database: TestDatabase;
  let lines: string[];
  let inject: (url: string, method?: 'GET' | 'POST') => Promise<string>;
  let close: () => Promise<void>;
  before(async () => {
    database = await openTestDatabase('pglite');
    lines = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(
          ...chunk
            .toString()
            .split('\n')
            .filter((line) => line !== ''),
        );
        done();
      },
    });
    const config = loadConfig({ LANYARD_SECRET_KEY: randomBytes(32).toString('base64'), LANYARD_PUBLIC_URL: 'http://127.0.0.1:8080' });
    const deps = createDeps(config, { db: database.db, logger: pino({ level: 'info' }, sink) });
    const app = await buildApp(deps);
    inject = async (url, method = 'GET') => {
      const before = lines.length;
      await app.inject({ method, url });
      return lines.slice(before).join('\n');
    };
    close = async () => {
      await app.close();
      await deps.close();
    };
  });
  after(async () => {
    await close();
    await database.close();
  });

  test('prints the URLs of requests, with every secret query parameter redacted', async () => {
    const secret = () => `S3CRET${randomBytes(8).toString('hex')}`;
    const cases: Array<{ url: (value: string) => string; method?: 'GET' | 'POST'; kept?: RegExp }> = [
      { url: (v) => `/sso/oidc/callback?state=st_visible&code=${v}`, kept: /state=st_visible&code=\[redacted\]/ },
      { url: (v) => `/sso/oidc/callback?code=${v}&code=${v}2&state=x`, kept: /code=\[redacted\]&code=\[redacted\]&state=x/ },
      { url: (v) => `/sso/oidc/callback?co%64e=${v}` },
      { url: (v) => `/sso/oidc/callback?CODE=${v}` },
      {
        url: (v) => `/oauth/token?client_secret=${v}&grant_type=authorization_code`,
        method: 'POST',
        kept: /grant_type=authorization_code/,
      },
      { url: (v) => `/oauth/userinfo?access_token=${v}` },
      {
        url: (v) => `/oauth/authorize?client_id=app_1&id_token_hint=${v}&code_challenge=abc`,
        kept: /client_id=app_1&.*code_challenge=abc/,
      },
      { url: (v) => `/v1/organizations?refresh_token=${v}` },
      { url: (v) => `/v1/organizations?token=${v}` },
      { url: (v) => `/v1/organizations?device_code=${v}&limit=5`, kept: /limit=5/ },
      { url: (v) => `/v1/organizations?webhook%5Fsecret=${v}` },
      { url: (v) => `/sso/saml/conn_x/acs?SAMLResponse=${v}&RelayState=flow_1`, method: 'POST', kept: /RelayState=flow_1/ },
      { url: (v) => `/sso/saml/conn_x/slo?SAMLRequest=${v}&SigAlg=rsa` },
      { url: (v) => `/setup/${v}?step=2`, kept: /\/setup\/\[redacted\]\?step=2/ },
      { url: (v) => `/v1/organizations?%zz=1&code=${v}`, kept: /%zz=1/ },
    ];
    for (const { url, method, kept } of cases) {
      const value = secret();
      const logged = await inject(url(value), method);
      assert.match(logged, /"msg":"incoming request"/, `${url('…')} is logged`);
      assert.doesNotMatch(logged, new RegExp(value), `${url('…')}: the secret is not in the log`);
      assert.match(logged, /\[redacted\]/);
      if (kept) assert.match(logged, kept);
    }
  });

  test('keeps URLs without secrets as they were sent', () => {
    for (const url of [
      '/v1/organizations?limit=5&cursor=abc',
      '/oauth/authorize?state=s&response_type=code',
      '/setup/tests/flow_1',
      '/x?a&b=',
    ]) {
      assert.equal(redactUrl(url), url);
    }
  });
});
