import { html } from '../../web/html.ts';
import { layout } from '../../web/pages.ts';

/** The /setup page: a plain HTML form posted to /setup. No scripts. */

export interface SetupPageInput {
  error?: string;
  username?: string;
  installCodes: boolean;
}

export function setupPage(input: SetupPageInput): string {
  return layout(
    'Set up this host',
    html`<form class="login setup" method="post" action="/setup" autocomplete="off">
  <h1>Set up this host</h1>
  <p class="muted">Enter the setup token shown on the host's console (also in <code>&lt;data&gt;/setup-token</code>) and choose the admin account.</p>
  ${input.error ? html`<p class="error" role="alert" id="setup-error">${input.error}</p>` : ''}
  <label for="token">Setup token</label>
  <input id="token" name="token" required spellcheck="false" autocomplete="off">
  <label for="username">Admin user name</label>
  <input id="username" name="username" autocomplete="username" value="${input.username ?? 'admin'}">
  <label for="password">Admin password (at least 12 characters)</label>
  <input id="password" name="password" type="password" autocomplete="new-password" required minlength="12">
  <label for="password_confirm">Repeat the password</label>
  <input id="password_confirm" name="password_confirm" type="password" autocomplete="new-password" required minlength="12">
  ${input.installCodes
    ? html`<label for="install_code">Install code (from your registration email; optional)</label>
  <input id="install_code" name="install_code" spellcheck="false" autocomplete="off">`
    : ''}
  <label for="provider_key">Provider API key (optional, stored encrypted)</label>
  <input id="provider_key" name="provider_key" type="password" autocomplete="off">
  <div class="actions"><button class="primary" type="submit">Claim this host</button></div>
</form>`,
  );
}
