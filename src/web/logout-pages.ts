import { html, page } from './html.ts';

/** Shown when a logout names no post_logout_redirect_uri to return to (RP-Initiated Logout 1.0 §3). */
export function signedOutPage(): string {
  return page({
    title: 'Signed out',
    body: html`<div class="card" role="status">
      <h1>You are signed out</h1>
      <p>Your session has ended. You can close this window.</p>
    </div>`,
  });
}
