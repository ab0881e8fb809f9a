// A guest that misbehaves on purpose, one route per way, for the runner's tests and benchmarks.
// It uses the raw WIT imports (no SDK) so the runner can be tested on its own.
// @ts-nocheck — the `alga:extension/*` modules exist only inside the component.
import * as storage from 'alga:extension/storage@0.1.0';
import * as http from 'alga:extension/http@0.1.0';
import * as secrets from 'alga:extension/secrets@0.1.0';
import * as logging from 'alga:extension/logging@0.1.0';
import * as metrics from 'alga:extension/metrics@0.1.0';
import * as uiProxy from 'alga:extension/ui-proxy@0.1.0';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
let counter = 0;
const hoard = [];

function json(status, value) {
  return { status, headers: [['content-type', 'application/json']], body: encoder.encode(JSON.stringify(value)) };
}

/** Runs a host call and reports either its value or the host-error variant it returned. */
function attempt(call) {
  try {
    return { ok: true, value: call() };
  } catch (error) {
    if (error && error.payload) return { ok: false, error: error.payload.tag, message: error.payload.val };
    return { ok: false, error: 'exception', message: String(error) };
  }
}

function param(query, name) {
  for (const pair of query.split('&')) {
    const [key, value = ''] = pair.split('=');
    if (decodeURIComponent(key) === name) return decodeURIComponent(value.replace(/\+/g, ' '));
  }
  return '';
}

const routes = {
  'GET /hello': (context) => json(200, { message: 'Hello from misbehave', tenant: context.tenantId }),
  'GET /clock': () => json(200, { monotonicMs: performance.now(), wallMs: Date.now(), random: Math.random(), randomWords: Array.from(crypto.getRandomValues(new Uint32Array(2))) }),
  'POST /echo': (_context, request) => ({ status: 200, headers: [['content-type', 'application/octet-stream']], body: request.body }),
  'GET /counter': () => json(200, { counter: ++counter }),
  'GET /config': (context) => json(200, Object.fromEntries(context.config)),
  'GET /loop': () => {
    for (;;) counter++;
  },
  // Busy for `ms` milliseconds, then (with `log=1`) one host call; answers the instance's counter.
  'GET /spin': (_context, request) => {
    const until = Date.now() + Number(param(request.query, 'ms') || 0);
    while (Date.now() < until) counter += 0;
    const logged = param(request.query, 'log') === '1' ? attempt(() => logging.log('info', `spin ${param(request.query, 'tag')}`, [])) : undefined;
    return json(200, { counter: ++counter, logged });
  },
  'GET /bomb': () => {
    for (;;) hoard.push(new Array(1 << 20).fill(counter++));
  },
  'GET /throw': () => {
    throw new Error('the guest gave up on purpose');
  },
  'GET /stdout': () => {
    console.log('hello on stdout');
    console.error('hello on stderr');
    return json(200, { printed: true });
  },
  'GET /storage/get': (_context, request) => {
    const result = attempt(() => storage.get(param(request.query, 'key')));
    if (result.ok) result.value = result.value === undefined ? null : decoder.decode(result.value);
    return json(200, result);
  },
  // With `spin=ms`, busy that long before the write (a write from a request admitted earlier).
  'POST /storage/put': (_context, request) => {
    const until = Date.now() + Number(param(request.query, 'spin') || 0);
    while (Date.now() < until) counter += 0;
    return json(200, attempt(() => storage.put(param(request.query, 'key'), request.body)));
  },
  'POST /storage/delete': (_context, request) => json(200, attempt(() => storage.delete(param(request.query, 'key')))),
  'GET /storage/list': (_context, request) => {
    const cursor = param(request.query, 'cursor');
    const result = attempt(() => storage.listByPrefix(param(request.query, 'prefix'), cursor || undefined, Number(param(request.query, 'limit') || 100)));
    if (result.ok) result.value = { keys: result.value.entries.map((entry) => entry.key), cursor: result.value.cursor ?? null };
    return json(200, result);
  },
  // 10 reads and 1 write, the storage-heavy handler of bench/storage-calls.ts (`?reads=n&writes=n` to change).
  'GET /storage/mix': (_context, request) => {
    const reads = Number(param(request.query, 'reads') || 10);
    const writes = Number(param(request.query, 'writes') || 1);
    let found = 0;
    for (let index = 0; index < reads; index++) if (storage.get(`mix:${index}`) !== undefined) found++;
    for (let index = 0; index < writes; index++) storage.put(`mix:${counter++ % 10}`, encoder.encode(`value ${counter}`));
    return json(200, { found });
  },
  // A write and a read of it in one request (the write goes to the main thread, the read may be answered in the worker).
  'POST /storage/put-then-get': (_context, request) => {
    const key = param(request.query, 'key');
    const result = attempt(() => (storage.put(key, request.body), decoder.decode(storage.get(key))));
    return json(200, result);
  },
  'POST /storage/increment': (_context, request) => {
    const result = attempt(() => storage.increment(param(request.query, 'key'), BigInt(param(request.query, 'by') || '1')));
    if (result.ok) result.value = String(result.value);
    return json(200, result);
  },
  'GET /storage/get-versioned': (_context, request) => {
    const result = attempt(() => storage.getVersioned(param(request.query, 'key')));
    if (result.ok) result.value = result.value === undefined ? null : { value: decoder.decode(result.value.value), version: String(result.value.version) };
    return json(200, result);
  },
  // The body: WIT operations as JSON, with text values and versions/steps as decimal strings.
  'POST /storage/batch': (_context, request) => {
    const expectation = (expect) =>
      expect === undefined ? undefined : expect.tag === 'version' ? { tag: 'version', val: BigInt(expect.val) } : expect.tag === 'value' ? { tag: 'value', val: encoder.encode(expect.val) } : expect;
    const operations = JSON.parse(decoder.decode(request.body)).map(({ tag, val }) => ({
      tag,
      val: { ...val, ...(val.value !== undefined ? { value: encoder.encode(val.value) } : {}), ...(val.by !== undefined ? { by: BigInt(val.by) } : {}), expect: expectation(val.expect) },
    }));
    const result = attempt(() => storage.batch(operations));
    if (result.ok) result.value = JSON.parse(JSON.stringify(result.value, (_key, value) => (typeof value === 'bigint' ? String(value) : value)));
    return json(200, result);
  },
  'GET /secret': (_context, request) => json(200, attempt(() => secrets.get(param(request.query, 'name')) ?? null)),
  'GET /fetch': (_context, request) => {
    const result = attempt(() => http.fetch({ method: 'GET', url: param(request.query, 'url'), headers: [], body: new Uint8Array(), timeoutMs: undefined }));
    if (result.ok) result.value = { status: result.value.status, body: decoder.decode(result.value.body) };
    return json(200, result);
  },
  // Every level, a non-ASCII message, two fields, and fractional metric values with two labels.
  'GET /log/levels': () =>
    json(200, {
      logs: ['debug', 'info', 'warn', 'error'].map((level) => attempt(() => logging.log(level, `${level}: café ✓`, [['a', '1'], ['b', 'ü']]))),
      counter: attempt(() => metrics.counter('levels_total', 0.5, [['kind', 'x'], ['zone', 'ü']])),
      histogram: attempt(() => metrics.histogram('levels_seconds', 0.25, [['kind', 'x']])),
      invalid: attempt(() => metrics.counter('Not A Name', 1, [])),
    }),
  'GET /log': (_context, request) =>
    json(200, {
      log: attempt(() => logging.log('info', param(request.query, 'message') || 'logged', [['route', '/log']])),
      counter: attempt(() => metrics.counter('probe_calls', 1, [['route', '/log']])),
      histogram: attempt(() => metrics.histogram('probe_size', 3, [])),
    }),
  'POST /ui-proxy': (_context, request) => {
    const result = attempt(() => uiProxy.callRoute(param(request.query, 'route'), request.body));
    if (result.ok) result.value = decoder.decode(result.value);
    return json(200, result);
  },
  // Answers exactly what the query asks: `?status=103&header=location:https://x&header=x-ext-a:%E2%82%AC&body=<b>`.
  // For the checks on what a guest may answer (status, header values, Location, active content).
  'GET /respond': (_context, request) => {
    const headers = [];
    let status = 200;
    let body = '';
    for (const pair of request.query.split('&')) {
      const [key, value = ''] = pair.split('=');
      const text = decodeURIComponent(value.replace(/\+/g, ' '));
      if (key === 'status') status = Number(text);
      else if (key === 'body') body = text;
      else if (key === 'header') headers.push([text.slice(0, text.indexOf(':')), text.slice(text.indexOf(':') + 1)]);
    }
    return { status, headers, body: encoder.encode(body) };
  },
  // Every way a JS guest might reach the host (`?try=<name>` runs one): none may work.
  'GET /escape': (_context, request) => {
    const tries = {};
    const path = param(request.query, 'path');
    const url = param(request.query, 'url');
    const only = param(request.query, 'try');
    for (const [name, run] of Object.entries({
      fetchFile: () => fetch('file://' + path),
      fetchSocket: () => fetch(url),
      process: () => globalThis.process.env,
      require: () => globalThis['req' + 'uire']('f' + 's').readFileSync(path, 'utf8'),
      deno: () => Deno.readTextFileSync(path),
      wasi: () => globalThis.wasi,
    })) {
      if (only && name !== only) continue;
      try {
        const value = run();
        tries[name] = value === undefined ? 'undefined' : typeof value === 'object' && typeof value.then === 'function' ? 'promise' : String(value);
      } catch (error) {
        tries[name] = 'error: ' + String(error);
      }
    }
    return json(200, tries);
  },
};

export const handler = {
  handle(context, request) {
    const route = routes[`${request.method} ${request.path}`];
    if (!route) return json(404, { error: 'no route', path: request.path });
    return route(context, request);
  },
};
