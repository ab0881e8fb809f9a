import { html } from '../../web/html.ts';
import { layout, themeToggle } from '../../web/pages.ts';

/** The /setup page: a plain HTML form posted to /setup (the host's theme script is its only script). */

export interface SetupPageInput {
  error?: string;
  /** The error's catalog code: says which field to look at. */
  errorCode?: string;
  username?: string;
  /** What was typed in the token field, kept after a failed claim (it is the visitor's own input). */
  token?: string;
  installCode?: string;
  installCodes: boolean;
}

const fieldOfError: Record<string, string> = {
  E_SETUP_TOKEN_INVALID: 'token',
  E_SETUP_TOKEN_EXPIRED: 'token',
  E_SETUP_PASSWORDS_DIFFER: 'password_confirm',
  E_PASSWORD_WEAK: 'password',
  E_INSTALL_CODE_INVALID: 'install_code',
  E_INSTALL_CODE_EXPIRED: 'install_code',
  E_INSTALL_CODE_CONSUMED: 'install_code',
};

export function setupPage(input: SetupPageInput): string {
  const errorField = input.errorCode ? fieldOfError[input.errorCode] : undefined;
  const invalid = (name: string) => (errorField === name ? html` aria-invalid="true" aria-describedby="setup-error"` : '');
  return layout(
    'Set up this host',
    html`<div class="corner">${themeToggle}</div>
<main id="main">
<form class="login setup" method="post" action="/setup" autocomplete="off">
  <h1>Set up this host</h1>
  <p class="muted">Enter the setup token shown on the host's console (also in <code>&lt;data&gt;/setup-token</code>) and choose the admin account.</p>
  ${input.error ? html`<p class="error" role="alert" id="setup-error">${input.error}</p>` : ''}
  <label for="token">Setup token</label>
  <input id="token" name="token" required spellcheck="false" autocomplete="off" value="${input.token ?? ''}"${invalid('token')}>
  <label for="username">Admin user name</label>
  <input id="username" name="username" autocomplete="username" value="${input.username ?? 'admin'}">
  <label for="password">Admin password (at least 12 characters)</label>
  <input id="password" name="password" type="password" autocomplete="new-password" required minlength="12"${invalid('password')}>
  <label for="password_confirm">Repeat the password</label>
  <input id="password_confirm" name="password_confirm" type="password" autocomplete="new-password" required minlength="12"${invalid('password_confirm')}>
  ${input.installCodes
    ? html`<label for="install_code">Install code (from your registration email; optional)</label>
  <input id="install_code" name="install_code" spellcheck="false" autocomplete="off" value="${input.installCode ?? ''}"${invalid('install_code')}>`
    : ''}
  <label for="provider_key">Provider API key (optional, stored encrypted)</label>
  <input id="provider_key" name="provider_key" type="password" autocomplete="off">
  <div class="actions"><button class="primary" type="submit">Claim this host</button></div>
</form>
</main>`,
  );
}
