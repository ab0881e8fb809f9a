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

  // The theme script (theme.ts, in the head) has applied the chosen theme and announces changes.
  let mode: 'light' | 'dark' = document.documentElement.dataset.theme === 'dark' ? 'dark' : 'light';

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

  window.addEventListener('alga:theme', (event) => {
    const next = (event as CustomEvent<{ mode: 'light' | 'dark' }>).detail?.mode === 'dark' ? 'dark' : 'light';
    if (next === mode) return;
    mode = next;
    bridge.sendThemeTokens(config.themes[mode]);
  });
}

start();
