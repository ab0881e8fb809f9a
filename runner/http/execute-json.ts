import type { ExecuteResult, ExecutionRecord } from '../runner.ts';

/**
 * JSON in and out of `POST /v1/execute` without passing the base64 body through the generic
 * JSON machinery: a megabyte body is one long string that JSON.parse and JSON.stringify would
 * otherwise scan (and copy) on every request. Base64 never contains `"` or `\`, so it can be
 * cut out of the raw bytes and spliced into the answer as it is.
 */

const bodyKey = Buffer.from('"body_b64"');
/** Below this size the plain parse is as fast. */
const spliceFrom = 16 * 1024;

const isJsonSpace = (byte: number | undefined) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

/** Parses a request body; `http.body_b64` comes back as a string exactly as a plain JSON.parse would give it. */
export function parseExecuteJson(raw: Buffer): unknown {
  const value = raw.length >= spliceFrom ? spliceBody(raw) : undefined;
  return value ?? JSON.parse(raw.toString('utf8'));
}

/** Parses everything but the body value, then puts the value back; undefined when the body is not where it should be. */
function spliceBody(raw: Buffer): unknown {
  const at = raw.indexOf(bodyKey);
  if (at < 0 || raw.indexOf(bodyKey, at + bodyKey.length) >= 0) return undefined; // the key must be unambiguous
  let index = at + bodyKey.length;
  while (isJsonSpace(raw[index])) index++;
  if (raw[index++] !== 0x3a) return undefined; // ':'
  while (isJsonSpace(raw[index])) index++;
  if (raw[index] !== 0x22) return undefined; // a string value
  const start = index + 1;
  const end = raw.indexOf(0x22, start);
  if (end < 0) return undefined;
  const value = raw.subarray(start, end);
  if (value.indexOf(0x5c) >= 0) return undefined; // an escape: let JSON.parse decode it
  const parsed = JSON.parse(Buffer.concat([raw.subarray(0, start), raw.subarray(end)]).toString('utf8')) as { http?: { body_b64?: unknown } };
  if (!parsed || typeof parsed.http !== 'object' || parsed.http === null || parsed.http.body_b64 !== '') return undefined; // the key was elsewhere
  parsed.http.body_b64 = value.toString('latin1');
  return parsed;
}

/** The execution figures every 200 answer carries, JSON or frame. */
export function executionFigures(execution: ExecutionRecord) {
  return {
    request_id: execution.request_id,
    duration_ms: execution.duration_ms,
    memory_bytes: execution.memory_bytes,
    egress_bytes: execution.egress_bytes,
    host_calls: execution.host_calls,
    log_events: execution.log_events,
    denials: execution.denials,
    denials_dropped: execution.denials_dropped,
    debug_events_dropped: execution.debug_events_dropped,
    // The failure an extension reported with its own 5xx (code and cause), for the host's execution log.
    ...(execution.error ? { error: execution.error } : {}),
  };
}

/** The 200 answer of `/v1/execute` as JSON text. */
export function executeAnswerJson(result: Extract<ExecuteResult, { ok: true }>): string {
  const { status, headers, body, execution } = result;
  const record = executionFigures(execution);
  const base64 = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('base64');
  return `{"status":${status},"headers":${JSON.stringify(headers)},"body_b64":"${base64}","execution":${JSON.stringify(record)}}`;
}
