import { spawnSync } from 'node:child_process';
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LeanHistogram } from '../../../infra/lean-histogram.ts';

describe('LeanHistogram', () => {
  it("exports exactly what prom-client's Histogram exports for the same observations", async () => {
    const values = [0, 0.004, 0.005, 0.0051, 0.3, 1, 7, 4000, 12.5];
    const buckets = [0.005, 0.01, 0.5, 1, 10];
    const a = new Registry();
    const b = new Registry();
    for (const r of [a, b]) r.setDefaultLabels({ component: 'processor' });
    const lean = new LeanHistogram({ name: 'x_seconds', help: 'h', buckets, registers: [a] });
    const classic = new Histogram({ name: 'x_seconds', help: 'h', buckets, registers: [b] });
    for (const v of values) {
      lean.observe(v);
      classic.observe(v);
    }
    expect(await a.metrics()).toBe(await b.metrics());
    expect(await a.getMetricsAsJSON()).toMatchObject([{ name: 'x_seconds', type: 'histogram' }]);
  });

  it('is valid exposition text for promtool check metrics', async () => {
    const r = new Registry();
    const h = new LeanHistogram({ name: 'ticklake_y_seconds', help: 'Latency', buckets: [0.1, 1], registers: [r] });
    h.observe(0.5);
    const res = spawnSync('promtool', ['check', 'metrics'], { input: await r.metrics(), encoding: 'utf8' });
    if (res.error) throw new Error(`promtool is not installed: apt-get install prometheus (${res.error.message})`);
    expect(res.status, `${res.stdout}${res.stderr}`).toBe(0);
  });
});
