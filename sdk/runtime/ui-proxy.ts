/// <reference path="./generated/extension@0.1.0.d.ts" />
import { callRoute } from 'alga:extension/ui-proxy@0.1.0';
import { jsonBytes, parseJsonBytes, toBytes, type BodyInit } from './bytes.ts';
import { callHost } from './errors.ts';

/** Calls host routes configured for the install (capability `alga.ui_proxy`). */
export const uiProxy = {
  call(route: string, payload: BodyInit = undefined): Uint8Array {
    return callHost('uiProxy.call', () => callRoute(route, toBytes(payload)));
  },

  /** Sends `payload` as JSON and parses the answer as JSON. */
  callJson<T = unknown>(route: string, payload: unknown = null): T {
    return parseJsonBytes<T>(uiProxy.call(route, jsonBytes(payload)));
  },
};
