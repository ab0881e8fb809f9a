/// <reference path="./generated/extension@0.1.0.d.ts" />
import { counter, histogram } from 'alga:extension/metrics@0.1.0';
import { callHost } from './errors.ts';

export type MetricLabels = Record<string, string | number | boolean>;

function labelPairs(labels: MetricLabels): Array<[string, string]> {
  return Object.entries(labels).map(([name, value]) => [name, String(value)]);
}

/** Extension metrics (capability `alga.metrics`), exported by the runner with bounded labels. */
export const metrics = {
  /** Adds `value` (default 1) to a counter. */
  increment(name: string, value = 1, labels: MetricLabels = {}): void {
    callHost('metrics.counter', () => counter(name, value, labelPairs(labels)));
  },

  /** Records one observation, e.g. a duration in milliseconds. */
  observe(name: string, value: number, labels: MetricLabels = {}): void {
    callHost('metrics.histogram', () => histogram(name, value, labelPairs(labels)));
  },
};
