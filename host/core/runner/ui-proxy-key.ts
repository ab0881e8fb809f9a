import { createHmac } from 'node:crypto';

/**
 * The bearer key the runner sends on `alga.ui_proxy` calls to the host: `UI_PROXY_AUTH_KEY` when
 * set (runners elsewhere need the same value), else derived from the runner service token — stable
 * across restarts, rotated with the token, never stored on its own.
 */
export function uiProxyAuthKey(runnerServiceToken: string, env: Readonly<Record<string, string | undefined>>): string {
  return env.UI_PROXY_AUTH_KEY || createHmac('sha256', runnerServiceToken).update('alga.ui_proxy auth key v1').digest('base64url');
}
