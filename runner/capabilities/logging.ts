import { Counter, type Registry } from 'prom-client';
import type { CapabilityFactor } from './factor.ts';
import { HostError } from './factor.ts';

const levels = new Set(['debug', 'info', 'warn', 'error']);

/** `alga.log`: structured guest logs, tagged with tenant, extension and request id, into the debug stream. */
export function createLoggingFactor(options: { registry: Registry }): CapabilityFactor {
  const logged = new Counter({ name: 'runner_guest_log_events_total', help: 'Guest log events by level.', labelNames: ['level'], registers: [options.registry] });
  return {
    capability: 'alga.log',
    iface: 'logging',
    functions: {
      log: (scope, [level, message, fields]) => {
        if (typeof level !== 'string' || !levels.has(level)) throw new HostError('invalid', 'Unknown log level.');
        if (typeof message !== 'string') throw new HostError('invalid', 'A log message must be a string.');
        if (scope.usage.logEvents >= scope.limits.maxLogEvents) throw new HostError('limit', `At most ${scope.limits.maxLogEvents} log events per execution.`);
        const pairs = Array.isArray(fields) ? (fields as [string, string][]) : [];
        const suffix = pairs.length > 0 ? ` ${JSON.stringify(Object.fromEntries(pairs))}` : '';
        if (!scope.debugEvent(level as 'debug' | 'info' | 'warn' | 'error', 'log', message + suffix)) {
          throw new HostError('limit', `At most ${scope.limits.maxDebugEvents} debug events (logs, output, denials) per execution.`);
        }
        scope.usage.logEvents++;
        logged.inc({ level });
      },
    },
  };
}
