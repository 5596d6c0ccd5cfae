import type { Migration } from 'kysely';
import * as m0001 from './0001-foundation.ts';
import * as m0002 from './0002-connections.ts';
import * as m0003 from './0003-oauth.ts';
import * as m0004 from './0004-tickets.ts';
import * as m0006 from './0006-webhooks.ts';
import * as m0007 from './0007-directories.ts';
import * as m0012 from './0012-console.ts';

/** Every migration, by name; names sort in the order they apply. Never edit one that has shipped. */
export const migrations: Record<string, Migration> = {
  '0001-foundation': m0001,
  '0002-connections': m0002,
  '0003-oauth': m0003,
  '0004-tickets': m0004,
  '0006-webhooks': m0006,
  '0007-directories': m0007,
  '0012-console': m0012,
};
