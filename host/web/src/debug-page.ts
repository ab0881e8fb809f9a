import { applyThemeTokens } from '../../../sdk/iframe/theme.ts';
import { pageConfigElementId, type DebugPageConfig } from './page-config.ts';

/** The live debug page: follows `/api/ext-debug/stream` and lists each event as a table row. */
function start(): void {
  const configElement = document.getElementById(pageConfigElementId);
  const rows = document.getElementById('debug-events');
  const status = document.getElementById('debug-status');
  if (!configElement || !rows || !status) return;
  const config = JSON.parse(configElement.textContent ?? '{}') as DebugPageConfig;
  applyThemeTokens(config.themes[localStorage.getItem('alga-theme') === 'dark' ? 'dark' : 'light']);

  const query = new URLSearchParams({ extensionId: config.extensionId });
  if (config.tenantId) query.set('tenantId', config.tenantId);
  const events = new EventSource(`/api/ext-debug/stream?${query}`);

  events.addEventListener('session', (event) => {
    const session = JSON.parse((event as MessageEvent).data) as { tenantId: string; source: string; expiresAt: string };
    status.textContent = `Streaming ${config.extensionId} for tenant ${session.tenantId} from ${session.source}; the session ends at ${new Date(session.expiresAt).toLocaleTimeString()}.`;
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
  });
  events.addEventListener('expired', () => {
    status.textContent = 'The debug session expired. Reload to start a new one.';
    events.close();
  });
  events.addEventListener('failed', (event) => {
    const failure = JSON.parse((event as MessageEvent).data) as { code: string; message: string };
    status.textContent = `${failure.code}: ${failure.message}`;
    events.close();
  });
  events.addEventListener('error', () => {
    if (events.readyState === EventSource.CLOSED) status.textContent = 'The debug stream is not available (check your debug access).';
  });
}

start();
