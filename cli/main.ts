#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../src/config.ts';
import { DataDirectoryLockedError } from '../src/storage/data-dir-lock.ts';
import { createApiKey } from './api-keys.ts';
import { createConsoleLink } from './console-link.ts';
import { rotateKeys } from './keys.ts';
import { migrate } from './migrate.ts';
import { rotateSecrets } from './secrets.ts';

const USAGE = `usage: lanyard <command> [options]

commands:
  migrate                                   apply database migrations and exit
  api-keys create [--name N] [--organization org_…]
                                            create an API key and print its token once
  console-link                              print a single-use link (valid 10 minutes) that signs
                                            a browser in to the operator console (/console)
  secrets rotate                            re-seal every stored secret under LANYARD_SECRET_KEY
                                            (older keys in LANYARD_PREVIOUS_SECRET_KEYS open the old ones)
  keys rotate [--purpose saml-sp|oidc-token-signing]
                                            publish Lanyard's next SP and token signing keys; they sign
                                            after LANYARD_KEY_ROLLOVER_SECONDS (as POST /v1/keys/rotate)

The database and keys come from the same LANYARD_* environment as the server.`;

/** CLI entry: one file per command, each calling the same services as HTTP. */
async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      organization: { type: 'string' },
      purpose: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals.join(' ');
  if (values.help || command === '') {
    process.stdout.write(`${USAGE}\n`);
    return command === '' && !values.help ? 2 : 0;
  }
  const config = loadConfig(process.env);
  switch (command) {
    case 'migrate':
      return migrate(config);
    case 'api-keys create':
      return createApiKey(config, { name: values.name ?? 'created by the CLI', organizationId: values.organization });
    case 'console-link':
      return createConsoleLink(config);
    case 'secrets rotate':
      return rotateSecrets(config);
    case 'keys rotate':
      return rotateKeys(config, values.purpose ?? []);
    default:
      process.stderr.write(`lanyard: unknown command "${command}"\n${USAGE}\n`);
      return 2;
  }
}

/** The one line a failed command prints. */
function failureLine(error: unknown): string {
  if (error instanceof ConfigError) return `configuration error: ${error.message}`;
  // A token printed by a command whose writes the running server would never see (and overwrite)
  // is worse than no token: refuse before anything is written.
  if (error instanceof DataDirectoryLockedError)
    return (
      `${error.message}: stop it and run this command again, or run Lanyard on PostgreSQL (LANYARD_DATABASE_URL), ` +
      'where the CLI and running servers share the database safely'
    );
  return error instanceof Error ? error.message : String(error);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`lanyard: ${failureLine(error)}\n`);
    process.exit(error instanceof ConfigError ? 2 : 1);
  },
);
