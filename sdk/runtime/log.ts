/// <reference path="./generated/extension@0.1.0.d.ts" />
import { log as hostLog } from 'alga:extension/logging@0.1.0';
import { callHost } from './errors.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | null | undefined>;

function write(level: LogLevel, message: string, fields: LogFields = {}): void {
  const pairs = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]): [string, string] => [name, String(value)]);
  callHost('log', () => hostLog(level, message, pairs));
}

/**
 * Structured logs (capability `alga.log`); the host tags them with tenant, extension and
 * request id. `log.info('counted', {count: 3})`.
 */
export const log = {
  debug: (message: string, fields?: LogFields) => write('debug', message, fields),
  info: (message: string, fields?: LogFields) => write('info', message, fields),
  warn: (message: string, fields?: LogFields) => write('warn', message, fields),
  error: (message: string, fields?: LogFields) => write('error', message, fields),
};
