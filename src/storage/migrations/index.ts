import type { Migration } from 'kysely';
import * as m0001 from './0001-foundation.ts';

/** Every migration, by name; names sort in the order they apply. Never edit one that has shipped. */
export const migrations: Record<string, Migration> = {
  '0001-foundation': m0001,
};
