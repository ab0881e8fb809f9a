/// <reference path="./generated/extension@0.1.0.d.ts" />
import { fetch as hostFetch } from 'alga:extension/http@0.1.0';
import { fromUtf8, parseJsonBytes, toBytes, type BodyInit } from './bytes.ts';
import { callHost } from './errors.ts';
import type { HeadersInit } from './response.ts';

export interface FetchInit {
  method?: string;
  headers?: HeadersInit;
  body?: BodyInit;
  /** Capped by the install's limits. */
  timeoutMs?: number;
}

export interface FetchResponse {
  status: number;
  /** True for a 2xx status. */
  ok: boolean;
  /** Lower-case header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Uint8Array;
  text(): string;
  json<T = unknown>(): T;
}

function headerPairs(headers: HeadersInit | undefined): Array<[string, string]> {
  if (!headers) return [];
  return (Array.isArray(headers) ? headers : Object.entries(headers)).map(([name, value]) => [name, String(value)]);
}

/**
 * Outbound HTTP through the host (capability `alga.http`), only to hosts allowed by the
 * manifest's `egress` and the install. A host that is not allowed throws HostDeniedError.
 */
export const http = {
  fetch(url: string, init: FetchInit = {}): FetchResponse {
    const response = callHost('http.fetch', () =>
      hostFetch({
        method: (init.method ?? 'GET').toUpperCase(),
        url,
        headers: headerPairs(init.headers),
        body: toBytes(init.body),
        timeoutMs: init.timeoutMs,
      }),
    );
    const headers: Record<string, string> = {};
    for (const [name, value] of response.headers) {
      const key = name.toLowerCase();
      headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
    }
    return {
      status: response.status,
      ok: response.status >= 200 && response.status < 300,
      headers,
      body: response.body,
      text: () => fromUtf8(response.body),
      json: <T>() => parseJsonBytes<T>(response.body),
    };
  },
};
