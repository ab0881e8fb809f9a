import { connectHostBridge, type HostBridge } from '../../host/web/src/host-bridge.ts';
import { themes } from '../../host/web/theme.ts';

/** The browser side of the `alga-ext dev` page (bundled by the dev server at start). */
interface DevState {
  extensionId?: string;
  version?: string;
  contentHash?: string;
  ui?: { origin: string; entry: string };
  endpoints: Array<{ method: string; path: string }>;
  error?: string;
}

const statusText = document.getElementById('status')!;
const title = document.getElementById('title')!;
const log = document.getElementById('log')!;
let iframe: HTMLIFrameElement | undefined;
let bridge: HostBridge | undefined;
let state: DevState = { endpoints: [] };

function showStatus(text: string, kind: 'ok' | 'failed'): void {
  statusText.textContent = text;
  statusText.className = kind;
}

function addLog(text: string, level = 'info'): void {
  const line = document.createElement('div');
  line.className = level;
  line.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  log.prepend(line);
  while (log.childElementCount > 500) log.lastElementChild?.remove();
}

function showUi(): void {
  if (!state.ui || !state.extensionId) return;
  document.getElementById('ui-section')!.hidden = false;
  const src = `${state.ui.origin}/${state.ui.entry}?build=${Date.now()}`;
  if (iframe) {
    iframe.src = src;
    return;
  }
  iframe = document.createElement('iframe');
  iframe.id = 'ext-frame';
  iframe.title = `${state.extensionId} UI`;
  iframe.setAttribute('sandbox', 'allow-scripts allow-forms allow-same-origin');
  const extensionId = state.extensionId;
  bridge = connectHostBridge({
    window,
    iframe,
    frameOrigin: state.ui.origin,
    extensionId,
    bootstrap: () => ({ tenantId: 'local-tenant', extensionId, version: state.version ?? '', contentHash: state.contentHash ?? '', path: '/', theme: themes.light }),
  });
  iframe.src = src;
  document.getElementById('frame-slot')!.replaceWith(iframe);
}

function applyState(next: DevState): void {
  state = next;
  title.textContent = `${next.extensionId}@${next.version}`;
  if (next.error) showStatus(next.error, 'failed');
  else showStatus('Built', 'ok');
  const firstGet = next.endpoints.find((endpoint) => endpoint.method === 'GET');
  const pathInput = document.querySelector<HTMLInputElement>('input[name=path]')!;
  if (pathInput.value === '/' && firstGet) pathInput.value = firstGet.path;
  showUi();
}

const events = new EventSource('/__alga/events');
events.addEventListener('state', (event) => applyState(JSON.parse((event as MessageEvent).data) as DevState));
events.addEventListener('reload', async (event) => {
  const { ms } = JSON.parse((event as MessageEvent).data) as { ms: number };
  applyState((await (await fetch('/__alga/state')).json()) as DevState);
  showStatus(`Rebuilt in ${ms} ms`, 'ok');
  addLog(`rebuilt in ${ms} ms`);
  document.body.dataset.builds = String(Number(document.body.dataset.builds ?? '0') + 1);
});
events.addEventListener('build-error', (event) => {
  const { error } = JSON.parse((event as MessageEvent).data) as { error: string };
  showStatus(error, 'failed');
  addLog(error, 'error');
});
events.addEventListener('log', (event) => {
  const { stream, level, message } = JSON.parse((event as MessageEvent).data) as { stream: string; level: string; message: string };
  addLog(`[${stream}] ${message}`, level);
});

document.getElementById('call')!.addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target as HTMLFormElement);
  const method = String(form.get('method'));
  const path = String(form.get('path'));
  const body = String(form.get('body') ?? '');
  const answer = document.getElementById('answer')!;
  const response = await fetch(`/api/ext/${encodeURIComponent(state.extensionId ?? '')}${path.startsWith('/') ? path : `/${path}`}`, {
    method,
    body: method === 'GET' || method === 'HEAD' || body === '' ? undefined : body,
  });
  const headers: string[] = [];
  response.headers.forEach((value, name) => headers.push(`${name}: ${value}`));
  answer.textContent = `HTTP ${response.status}\n${headers.join('\n')}\n\n${await response.text()}`;
});

addEventListener('beforeunload', () => bridge?.close());
