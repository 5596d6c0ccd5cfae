import type { Migration } from 'kysely';
import * as m0001 from './0001-foundation.ts';
import * as m0002 from './0002-connections.ts';
import * as m0003 from './0003-oauth.ts';
import * as m0004 from './0004-tickets.ts';
import * as m0006 from './0006-webhooks.ts';
import * as m0007 from './0007-directories.ts';
import * as m0009 from './0009-domain-verification.ts';
import * as m0010 from './0010-certificates.ts';
import * as m0011 from './0011-sessions.ts';
import * as m0012 from './0012-console.ts';
import * as m0013 from './0013-ticket-directories.ts';
import * as m0014 from './0014-application-pkce.ts';
import * as m0015 from './0015-change-notifications.ts';
import * as m0016 from './0016-certificate-renewal.ts';
import * as m0017 from './0017-ticket-domain-policy.ts';
import * as m0018 from './0018-domain-change-notifications.ts';
import * as m0019 from './0019-session-upstream-id-token.ts';

/** Every migration, by name; names sort in the order they apply. Never edit one that has shipped. */
export const migrations: Record<string, Migration> = {
  '0001-foundation': m0001,
  '0002-connections': m0002,
  '0003-oauth': m0003,
  '0004-tickets': m0004,
  '0006-webhooks': m0006,
  '0007-directories': m0007,
  '0009-domain-verification': m0009,
  '0010-certificates': m0010,
  '0011-sessions': m0011,
  '0012-console': m0012,
  '0013-ticket-directories': m0013,
  '0014-application-pkce': m0014,
  '0015-change-notifications': m0015,
  '0016-certificate-renewal': m0016,
  '0017-ticket-domain-policy': m0017,
  '0018-domain-change-notifications': m0018,
  '0019-session-upstream-id-token': m0019,
};
