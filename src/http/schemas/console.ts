import { Type, type Static } from 'typebox';
import { Timestamp } from './common.ts';

/** `POST /v1/console-links`: a single-use sign-in link to the operator console. */
export const ConsoleLink = Type.Object(
  {
    id: Type.String({ description: 'clk_… id' }),
    url: Type.String({ description: 'Open it in a browser to sign in; in this answer only (only a hash of its token is stored)' }),
    expiresAt: Timestamp,
  },
  { $id: 'ConsoleLink', title: 'ConsoleLink' },
);

export type ConsoleLink = Static<typeof ConsoleLink>;
