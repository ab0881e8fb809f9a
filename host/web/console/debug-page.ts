import { html, jsonForScript, raw } from '../html.ts';
import { assetPaths } from '../pages.ts';
import { pageConfigElementId, type DebugPageConfig } from '../src/page-config.ts';
import { consoleHref, consolePage, extensionPath, type ConsoleViewer } from './chrome.ts';

/** The live debug page: the debug stream of one install as a table (fed by debug-page.js). */
export function debugStreamPage(viewer: ConsoleViewer, input: { extensionId: string; name: string; config: DebugPageConfig }): string {
  const main = html`<h1>Debug stream: ${input.name}</h1>
<p class="muted">Output, logs and refused host calls of ${input.name} for ${viewer.tenantName}, live, as calls happen. Nothing is shown from before you opened this page.</p>
<p id="debug-status" class="status-line" role="status" aria-live="polite">Connecting…</p>
<p><button type="button" id="debug-clear">Clear</button> <a href="${consoleHref(viewer, extensionPath(input.extensionId, '/executions'))}">Execution log</a></p>
<table class="data debug">
  <caption class="visually-hidden">Debug events of ${input.name}</caption>
  <thead><tr><th scope="col">Time</th><th scope="col">Level</th><th scope="col">Stream</th><th scope="col">Request</th><th scope="col">Message</th></tr></thead>
  <tbody id="debug-events"></tbody>
</table>
<script type="application/json" id="${pageConfigElementId}">${raw(jsonForScript(input.config))}</script>`;
  return consolePage({
    viewer,
    section: 'installed',
    title: `Debug ${input.name}`,
    crumbs: [{ label: 'Installed', href: consoleHref(viewer, '/console') }, { label: input.name, href: consoleHref(viewer, extensionPath(input.extensionId)) }, { label: 'Debug stream' }],
    main,
    scripts: [assetPaths.debugPage],
  });
}
