import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One Prometheus registry per process. Metric names are prefixed `ticklake_`; each process kind labels its
 * metrics with `component` through the default labels, so one dashboard shows all processes.
 */
export const metricsRegistry = new Registry();
let defaultsCollected = false;

export function initProcessMetrics(component: string): Registry {
  metricsRegistry.setDefaultLabels({ component });
  if (!defaultsCollected) {
    collectDefaultMetrics({ register: metricsRegistry, prefix: 'ticklake_' });
    defaultsCollected = true;
  }
  return metricsRegistry;
}
