import type { LoginFlowRow } from '../../storage/schema.ts';
import { failureStatus, type Fact, type LoginFailure, type LoginFailureCode } from './failures.ts';
import { appRedirect } from './redirects.ts';

/** Where the ACS or the OIDC callback sends the browser: on (to the app, or a test's result page), or to a failure page. */
export type LoginOutcome =
  | { readonly kind: 'redirect'; readonly url: string }
  | {
      readonly kind: 'failure';
      readonly code: LoginFailureCode;
      /** From the login failure catalogue. */
      readonly status: number;
      readonly title: string;
      readonly message: string;
      /** For the IT admin: the connection, what was expected and received, and the code. */
      readonly facts: readonly Fact[];
      /** Back to the app with `error=access_denied`, once the flow (and so the app) is known. */
      readonly back?: string;
      /** An unexpected error behind the failure, for the log (never shown). */
      readonly cause?: unknown;
    };

/** The failure page of a refusal, facts of the connection first, then the failure's, then its code. */
export function failurePage(
  failure: LoginFailure,
  context: {
    readonly facts: readonly Fact[];
    /** Lanyard's issuer, the `iss` of the way back to the app (RFC 9207). */
    readonly issuer: string;
    readonly flow?: LoginFlowRow | undefined;
    readonly cause?: unknown;
    readonly title?: string;
  },
): LoginOutcome {
  const { flow } = context;
  const back =
    flow === undefined
      ? undefined
      : appRedirect(
          context.issuer,
          flow.redirect_uri,
          { error: 'access_denied', description: `${failure.code}: ${failure.message}` },
          flow.app_state,
        );
  return {
    kind: 'failure',
    code: failure.code,
    status: failureStatus(failure.code),
    title: context.title ?? 'Sign-in failed',
    message: failure.message,
    facts: [...context.facts, ...failure.facts, ['Error code', failure.code]],
    ...(back !== undefined ? { back } : {}),
    ...(context.cause !== undefined ? { cause: context.cause } : {}),
  };
}
