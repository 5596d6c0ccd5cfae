// migrateToLatest (src/storage/database.ts) looks again when Kysely's search for its bookkeeping
// tables failed because another client dropped some schema meanwhile (3F000, seen in CI as a race
// between two test files), and reports every other failure at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MigrationResultSet } from 'kysely';
import { lookingPastDroppedSchemas } from '../../src/storage/database.ts';

const schemaGone = Object.assign(new Error('schema "test_gone" does not exist'), { code: '3F000' });

/** A migrate that answers `outcomes` in turn, counting its calls. */
function migrateAnswering(...outcomes: MigrationResultSet[]) {
  let calls = 0;
  return { migrate: async () => outcomes[Math.min(calls++, outcomes.length - 1)]!, calls: () => calls };
}

test('a schema dropped by someone else during the lookup is looked past', async () => {
  const done: MigrationResultSet = { results: [{ migrationName: '0001', direction: 'Up', status: 'Success' }] };
  const run = migrateAnswering({ error: schemaGone }, { error: schemaGone }, done);
  assert.equal(await lookingPastDroppedSchemas(run.migrate), done);
  assert.equal(run.calls(), 3);
});

test('it stops looking after five tries, and reports the failure', async () => {
  const run = migrateAnswering({ error: schemaGone });
  assert.equal((await lookingPastDroppedSchemas(run.migrate)).error, schemaGone);
  assert.equal(run.calls(), 5);
});

test('any other failure, or one after a migration ran, is reported at once', async () => {
  const denied = migrateAnswering({ error: Object.assign(new Error('permission denied'), { code: '42501' }) });
  assert.equal(((await lookingPastDroppedSchemas(denied.migrate)).error as Error).message, 'permission denied');
  assert.equal(denied.calls(), 1);
  const midway = migrateAnswering({ error: schemaGone, results: [{ migrationName: '0007', direction: 'Up', status: 'Error' }] });
  assert.equal((await lookingPastDroppedSchemas(midway.migrate)).error, schemaGone);
  assert.equal(midway.calls(), 1);
});
