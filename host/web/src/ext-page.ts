import { applyThemeTokens } from '../../../sdk/iframe/theme.ts';
import { connectHostBridge } from './host-bridge.ts';
import { pageConfigElementId, type ExtensionPageConfig } from './page-config.ts';

/**
 * The extension page: creates the sandboxed iframe only after the bridge listens, so the
 * UI's `ready` is never missed, and keeps the address bar in step with the UI's navigation.
 */
function start(): void {
  const configElement = document.getElementById(pageConfigElementId);
  const slot = document.getElementById('ext-frame-slot');
  if (!configElement || !slot) return;
  const config = JSON.parse(configElement.textContent ?? '{}') as ExtensionPageConfig;
  const pageBase = `/ext/${encodeURIComponent(config.extensionId)}`;

  let mode: 'light' | 'dark' = localStorage.getItem('alga-theme') === 'dark' ? 'dark' : 'light';
  applyThemeTokens(config.themes[mode]);

  const iframe = document.createElement('iframe');
  iframe.id = 'ext-frame';
  iframe.title = config.frame.title;
  iframe.setAttribute('sandbox', config.frame.sandbox);
  iframe.setAttribute('referrerpolicy', 'origin');

  const bridge = connectHostBridge({
    window,
    iframe,
    frameOrigin: config.frame.origin,
    extensionId: config.extensionId,
    bootstrap: () => ({ ...config.bootstrap, theme: config.themes[mode] }),
    onNavigate: (path) => history.replaceState(null, '', pageBase + path),
  });

  iframe.src = config.frame.src;
  slot.replaceWith(iframe);

  document.getElementById('theme-toggle')?.addEventListener('click', () => {
    mode = mode === 'light' ? 'dark' : 'light';
    localStorage.setItem('alga-theme', mode);
    applyThemeTokens(config.themes[mode]);
    bridge.sendThemeTokens(config.themes[mode]);
  });
}

start();
