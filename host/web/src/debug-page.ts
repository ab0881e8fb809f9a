import { pageConfigElementId, type DebugPageConfig } from './page-config.ts';

const maxRows = 1000;

/** The live debug page: follows `/api/ext-debug/stream` and lists each event as a table row. */
function start(): void {
  const configElement = document.getElementById(pageConfigElementId);
  const rows = document.getElementById('debug-events');
  const status = document.getElementById('debug-status');
  if (!configElement || !rows || !status) return;
  const config = JSON.parse(configElement.textContent ?? '{}') as DebugPageConfig;

  const query = new URLSearchParams({ extensionId: config.extensionId });
  if (config.tenantId) query.set('tenantId', config.tenantId);
  const streamUrl = `/api/ext-debug/stream?${query}`;
  const events = new EventSource(streamUrl);
  const say = (text: string, problem = false) => {
    status.textContent = text;
    status.classList.toggle('error', problem);
  };

  events.addEventListener('session', (event) => {
    const session = JSON.parse((event as MessageEvent).data) as { tenantId: string; source: string; expiresAt: string };
    say(`Streaming ${config.extensionId} for tenant ${session.tenantId} from ${session.source}; the session ends at ${new Date(session.expiresAt).toLocaleTimeString()}. New events appear below as the extension runs.`);
  });
  events.addEventListener('debug', (event) => {
    const data = JSON.parse((event as MessageEvent).data) as Record<string, unknown>;
    const row = document.createElement('tr');
    row.dataset.level = String(data.level ?? '');
    for (const value of [data.ts, data.level, data.stream, data.request, data.message]) {
      const cell = document.createElement('td');
      cell.textContent = value === undefined ? '' : String(value);
      row.appendChild(cell);
    }
    rows.appendChild(row);
    while (rows.childElementCount > maxRows) rows.firstElementChild?.remove();
  });
  events.addEventListener('expired', () => {
    say('The debug session expired. Reload the page to start a new one.');
    events.close();
  });
  events.addEventListener('failed', (event) => {
    const failure = JSON.parse((event as MessageEvent).data) as { code: string; message: string };
    say(`${failure.code}: ${failure.message}`, true);
    events.close();
  });
  events.addEventListener('error', () => {
    if (events.readyState === EventSource.CONNECTING) {
      say('The debug stream was interrupted; reconnecting…');
      return;
    }
    void explainRefusal(streamUrl).then((text) => say(text, true));
  });

  document.getElementById('debug-clear')?.addEventListener('click', () => rows.replaceChildren());
}

/**
 * EventSource does not say why a stream was refused, so ask once more with fetch and show the
 * host's own sentence: not installed, no access, signed out, or the source down are different fixes.
 */
async function explainRefusal(url: string): Promise<string> {
  const controller = new AbortController();
  try {
    const response = await fetch(url, { headers: { accept: 'application/json' }, credentials: 'same-origin', signal: controller.signal });
    if (response.ok) return 'The debug stream closed; reload the page to reconnect.';
    const body = (await response.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
    const code = body?.error?.code;
    if (code === 'E_AUTH_REQUIRED') return 'Your session has ended; sign in again to watch the debug stream.';
    return body?.error?.message ? `${body.error.message}${code ? ` (${code})` : ''}` : `The debug stream was refused (HTTP ${response.status}).`;
  } catch {
    return 'The host cannot be reached; check the connection and reload the page.';
  } finally {
    controller.abort();
  }
}

start();
