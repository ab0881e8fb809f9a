import type { ApiProxyResponse } from './envelope.ts';

/** What `callApi` resolves to: the extension API's answer as the host's gateway gave it. */
export class ApiResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;

  constructor(response: ApiProxyResponse) {
    this.status = response.status;
    this.headers = response.headers;
    this.body = response.body;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  text(): string {
    return new TextDecoder().decode(this.body);
  }

  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }
}

/** Body bytes from what a caller passes: text, bytes, or a value sent as JSON. */
export function encodeBody(body: unknown): { bytes: Uint8Array | null; json: boolean } {
  if (body === undefined || body === null) return { bytes: null, json: false };
  if (body instanceof Uint8Array) return { bytes: body, json: false };
  if (body instanceof ArrayBuffer) return { bytes: new Uint8Array(body), json: false };
  if (typeof body === 'string') return { bytes: new TextEncoder().encode(body), json: false };
  return { bytes: new TextEncoder().encode(JSON.stringify(body)), json: true };
}

/** Bytes from a body that crossed postMessage (a Uint8Array, or its plain-object shape in some DOMs). */
export function bytesOf(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return new TextEncoder().encode(value);
  return new Uint8Array(0);
}
