import type { ExecutionRecord } from '../../plugins/extensions/gateway/execution-log.ts';
import { html, type RawHtml } from '../html.ts';
import { badge, consoleHref, consolePage, extensionPath, formatDate, type ConsoleViewer } from './chrome.ts';

const statusKind = (row: ExecutionRecord) => (row.status >= 500 ? 'bad' : row.status >= 400 || row.denials ? 'warn' : 'ok');

/** Execution log rows: when, what, status, time, the error code and its cause (a denied grant, a quota…). */
export function executionTable(rows: ExecutionRecord[], caption: string): RawHtml {
  if (rows.length === 0) return html`<p class="muted" id="no-executions">No calls recorded yet.</p>`;
  return html`<table class="data executions" id="executions">
  <caption class="visually-hidden">${caption}</caption>
  <thead><tr><th scope="col">Time</th><th scope="col">Request</th><th scope="col">Status</th><th scope="col">Duration</th><th scope="col">Error</th><th scope="col">Cause</th></tr></thead>
  <tbody>
  ${rows.map((row) => html`<tr data-request-id="${row.requestId}" data-status="${row.status}"${row.error ? html` data-error="${row.error}"` : ''}>
    <td>${formatDate(row.at)}</td>
    <td><code>${row.method} ${row.path}</code><br><span class="muted" title="request id">${row.requestId}</span>${row.version ? html`<br><span class="muted">version ${row.version}</span>` : ''}</td>
    <td>${badge(String(row.status), statusKind(row))}</td>
    <td>${row.durationMs.toFixed(1)} ms${row.runnerDurationMs !== undefined ? html`<br><span class="muted">runner ${row.runnerDurationMs.toFixed(1)} ms</span>` : ''}${row.memoryBytes ? html`<br><span class="muted">${(row.memoryBytes / 1048576).toFixed(1)} MB</span>` : ''}</td>
    <td>${row.error ? html`<code class="error-code">${row.error}</code>` : ''}</td>
    <td class="cause">${row.cause ?? ''}${row.denials && row.denials.length > 1
      ? html`<details><summary>${row.denials.length} refused host calls</summary><ul>${row.denials.map((denial) => html`<li><code>${denial.capability}</code>: ${denial.reason}</li>`)}</ul></details>`
      : ''}</td>
  </tr>`)}
  </tbody>
</table>`;
}

export function executionsPage(viewer: ConsoleViewer, input: { extensionId: string; name: string; rows: ExecutionRecord[]; onlyFailures: boolean; pageSize: number }): string {
  const { extensionId, rows } = input;
  const last = rows.at(-1);
  const older = rows.length >= input.pageSize && last ? consoleHref(viewer, extensionPath(extensionId, '/executions'), { before: last.at, failures: input.onlyFailures ? '1' : undefined }) : undefined;
  const main = html`<h1>Execution log: ${input.name}</h1>
<p class="muted">Every call through the gateway, newest first: status, time taken, the error code and its cause. Rows are kept 7 days.</p>
<form method="get" action="${extensionPath(extensionId, '/executions')}" class="inline-form">
  ${viewer.namedTenant ? html`<input type="hidden" name="tenantId" value="${viewer.namedTenant}">` : ''}
  <input type="checkbox" id="only-failures" name="failures" value="1"${input.onlyFailures ? html` checked` : ''}>
  <label for="only-failures">Only failed or refused calls</label>
  <button type="submit">Show</button>
  <a href="${consoleHref(viewer, extensionPath(extensionId, '/executions'), { failures: input.onlyFailures ? '1' : undefined })}">Newest</a>
</form>
${executionTable(rows, `Calls to ${input.name}, newest first`)}
${older ? html`<p><a href="${older}" id="older">Older calls</a></p>` : ''}`;
  return consolePage({
    viewer,
    section: 'installed',
    title: `Execution log: ${input.name}`,
    crumbs: [{ label: 'Installed', href: consoleHref(viewer, '/console') }, { label: input.name, href: consoleHref(viewer, extensionPath(extensionId)) }, { label: 'Execution log' }],
    main,
  });
}
