import { Counter, Histogram, type Registry } from 'prom-client';
import type { CapabilityFactor, ExecutionScope } from './factor.ts';
import { HostError } from './factor.ts';

/**
 * `alga.metrics`: guest counters and histograms exported by the runner. Labels stay bounded:
 * names are checked, guest labels are folded into one `labels` label, and each extension may
 * create at most `maxSeriesPerExtension` series.
 */
const namePattern = /^[a-z_][a-z0-9_]{0,63}$/;
const maxLabelPairs = 4;
const maxSeriesPerExtension = 200;

export function createMetricsFactor(options: { registry: Registry }): CapabilityFactor {
  const counter = new Counter({ name: 'runner_guest_counter_total', help: 'Counters reported by extensions.', labelNames: ['extension', 'name', 'labels'], registers: [options.registry] });
  const histogram = new Histogram({
    name: 'runner_guest_histogram',
    help: 'Histograms reported by extensions.',
    labelNames: ['extension', 'name', 'labels'],
    buckets: [0.001, 0.01, 0.1, 1, 10, 100, 1000, 10000],
    registers: [options.registry],
  });
  const seriesByExtension = new Map<string, Set<string>>();

  function labelsFor(scope: ExecutionScope, name: unknown, value: unknown, pairs: unknown): { extension: string; name: string; labels: string } {
    if (typeof name !== 'string' || !namePattern.test(name)) throw new HostError('invalid', 'A metric name must match [a-z_][a-z0-9_]{0,63}.');
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new HostError('invalid', 'A metric value must be a finite number.');
    const list = Array.isArray(pairs) ? (pairs as [string, string][]) : [];
    if (list.length > maxLabelPairs) throw new HostError('limit', `At most ${maxLabelPairs} labels per metric.`);
    const labels = list
      .map(([key, label]) => `${String(key).slice(0, 32)}=${String(label).slice(0, 64)}`)
      .sort()
      .join(',');
    const series = `${name}|${labels}`;
    const known = seriesByExtension.get(scope.extensionId) ?? new Set<string>();
    if (!known.has(series)) {
      if (known.size >= maxSeriesPerExtension) throw new HostError('limit', `An extension may report at most ${maxSeriesPerExtension} metric series.`);
      known.add(series);
      seriesByExtension.set(scope.extensionId, known);
    }
    return { extension: scope.extensionId, name, labels };
  }

  return {
    capability: 'alga.metrics',
    iface: 'metrics',
    functions: {
      counter: (scope, [name, value, labels]) => {
        if (typeof value === 'number' && value < 0) throw new HostError('invalid', 'A counter only goes up.');
        counter.inc(labelsFor(scope, name, value, labels), value as number);
      },
      histogram: (scope, [name, value, labels]) => {
        histogram.observe(labelsFor(scope, name, value, labels), value as number);
      },
    },
  };
}
