/** The `alga-ext dev` page: the extension's UI in an iframe from its own origin, a request console and the live log. */
export function devPageHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>alga-ext dev</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 0; color: #111827; }
  header { display: flex; gap: 1rem; align-items: baseline; padding: .75rem 1rem; border-bottom: 1px solid #e5e7eb; }
  header h1 { font-size: 1rem; margin: 0; }
  #status.ok { color: #047857; } #status.failed { color: #b91c1c; white-space: pre-wrap; }
  main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1rem; padding: 1rem; }
  section { border: 1px solid #e5e7eb; border-radius: 6px; padding: .75rem; min-width: 0; }
  h2 { font-size: .9rem; margin: 0 0 .5rem; }
  iframe { width: 100%; min-height: 240px; border: 1px dashed #d1d5db; }
  form { display: flex; gap: .5rem; flex-wrap: wrap; } input[name=path] { flex: 1; } textarea { width: 100%; min-height: 3rem; }
  pre { background: #f9fafb; padding: .5rem; overflow: auto; max-height: 20rem; white-space: pre-wrap; margin: .5rem 0 0; }
  #log div { font: 12px ui-monospace, monospace; white-space: pre-wrap; border-bottom: 1px solid #f3f4f6; }
  #log .warn, #log .error { color: #b91c1c; }
</style>
</head>
<body>
<header><h1 id="title">alga-ext dev</h1><span id="status" role="status">Connecting…</span></header>
<main>
  <div>
    <section id="ui-section" hidden><h2>UI (served from its own origin)</h2><div id="frame-slot"></div></section>
    <section>
      <h2>Call the API</h2>
      <form id="call">
        <select name="method"><option>GET</option><option>POST</option><option>PUT</option><option>PATCH</option><option>DELETE</option></select>
        <input name="path" value="/" aria-label="path">
        <button>Send</button>
        <textarea name="body" placeholder="request body (optional)"></textarea>
      </form>
      <pre id="answer" aria-live="polite"></pre>
    </section>
  </div>
  <section><h2>Log</h2><div id="log"></div></section>
</main>
<script type="module" src="/__alga/page.js"></script>
</body>
</html>
`;
}
