// The report's families rendered the plain prom-client way, every line formatted from scratch in a fresh registry
// (what the exporter did before it kept lines between renders): the reference the tests compare
// src/gauge-families.ts with, and the baseline of `npm run bench:render`.
import { Registry, type Metric } from 'prom-client';
import type { GaugeFamily } from '../src/gauge-families.js';

export function renderFromScratch<R>(families: readonly GaugeFamily<R>[], report: R): Promise<string> {
  const registry = new Registry();
  for (const f of families) {
    // prom-client's registry accepts any object of this shape.
    const get = () => ({ name: f.name, help: f.help, type: 'gauge', aggregator: 'sum', values: f.series(report) });
    registry.registerMetric({ name: f.name, help: f.help, type: 'gauge', aggregator: 'sum', get, reset() {} } as unknown as Metric);
  }
  return registry.metrics();
}
