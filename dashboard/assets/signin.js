// Signing in to a private site: the card that asks for an API key when a report answers 401,
// and the header's note of how this tab reads the site (a key, or a shared link) with a way to
// sign out. Tokens themselves are kept by auth.js.
import { forget, isSharedLink, remember, tokenFor } from './auth.js';
import { $ } from './format.js';
import { state } from './state.js';

/** Shows the card for `state.site`: `rejected` when a stored token was refused. */
export function showSignIn(rejected) {
  const site = state.site;
  for (const el of document.querySelectorAll('.site-name')) el.textContent = site;
  $('signin-title').textContent = `The reports of “${site}” are private`;
  const text = rejected
    ? `The ${isSharedLink(rejected) ? 'shared link' : 'key'} for “${site}” was not accepted: it is wrong, revoked, or for another site. Sign in with a valid API key, or open a current shared link.`
    : `Sign in with one of its API keys to see them.`;
  $('signin-message').textContent = text;
  $('signin-message').className = `signin-message${rejected ? ' error' : ''}`;
  $('signin').hidden = false;
  $('report').hidden = true;
}

export function hideSignIn() {
  $('signin').hidden = true;
  $('report').hidden = false;
}

/** The header's note for the current site. */
export function renderSession() {
  const token = tokenFor(state.site);
  $('session').hidden = !token;
  if (!token) return;
  $('session-text').textContent = isSharedLink(token)
    ? `Viewing ${state.site} through a shared link (read-only)`
    : `Signed in to ${state.site} with an API key`;
  $('sign-out').textContent = isSharedLink(token) ? 'Forget link' : 'Sign out';
}

/** Wires the form and the sign-out button; `reload` runs after either. */
export function setupSignIn(reload) {
  $('signin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const key = $('api-key').value.trim();
    if (!key) return;
    remember(state.site, key);
    $('api-key').value = '';
    reload();
  });
  $('sign-out').addEventListener('click', () => {
    forget(state.site);
    reload();
  });
}
