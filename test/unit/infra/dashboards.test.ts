import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportedMetricNames, PLANNED_METRICS, PROMETHEUS_SERIES, promqlMetricNames } from '../../support/metrics.ts';

/**
 * Every query in the Grafana dashboards and every alert expression names only metrics the app exports (or
 * Prometheus's `up`, or a metric listed as planned with its issue): a renamed metric fails here, not as an empty
 * panel or an alert that can never fire.
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));
const dashboardsDir = `${root}infra/compose/grafana/dashboards/`;

interface Panel {
  title?: string;
  type: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

function dashboardQueries(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const file of readdirSync(dashboardsDir).filter((f) => f.endsWith('.json'))) {
    const d = JSON.parse(readFileSync(`${dashboardsDir}${file}`, 'utf8')) as { panels: Panel[] };
    const walk = (panels: Panel[]) => {
      for (const p of panels) {
        for (const t of p.targets ?? []) if (t.expr) out.push({ where: `${file}: ${p.title}`, expr: t.expr });
        walk(p.panels ?? []);
      }
    };
    walk(d.panels);
  }
  return out;
}

function alertExpressions(): { where: string; expr: string }[] {
  const doc = parse(readFileSync(`${root}infra/prometheus/alerts.yml`, 'utf8')) as {
    groups: { rules: { alert?: string; record?: string; expr: string }[] }[];
  };
  return doc.groups.flatMap((g) => g.rules.map((r) => ({ where: r.alert ?? r.record ?? '?', expr: String(r.expr) })));
}

let exported: Set<string>;
beforeAll(async () => {
  exported = await exportedMetricNames();
});

function unknownNames(queries: { where: string; expr: string }[]): string[] {
  return queries.flatMap(({ where, expr }) =>
    promqlMetricNames(expr)
      .filter((n) => !exported.has(n) && !PROMETHEUS_SERIES.has(n) && !(n in PLANNED_METRICS))
      .map((n) => `${where}: ${n}`),
  );
}

describe('promqlMetricNames', () => {
  it('finds the metrics and skips functions, aggregations, labels, strings and keywords', () => {
    expect(
      promqlMetricNames(
        'histogram_quantile(0.99, sum by (le, table) (rate(ticklake_sink_flush_seconds_bucket{table=~"raw|bars"}[5m])))',
      ),
    ).toEqual(['ticklake_sink_flush_seconds_bucket']);
    expect(
      promqlMetricNames(
        'sum(rate(a_total[5m] offset 1h)) / on(group) group_left(x) b > bool 1e3 and up{job="ticklake"} == 0',
      ),
    ).toEqual(['a_total', 'b', 'up']);
    expect(promqlMetricNames('time() - max by (source) (c_seconds)')).toEqual(['c_seconds']);
  });
});

describe('dashboards and alerts name exported metrics', () => {
  it('ships the three dashboards with queries', () => {
    const files = readdirSync(dashboardsDir).sort();
    expect(files).toEqual(['batch-layer.json', 'market-overview.json', 'pipeline-health.json']);
    for (const f of files) {
      const d = JSON.parse(readFileSync(`${dashboardsDir}${f}`, 'utf8')) as { uid: string; panels: Panel[] };
      expect(d.uid, f).toMatch(/^ticklake-/);
      expect(dashboardQueries().filter((q) => q.where.startsWith(f)).length, f).toBeGreaterThan(3);
    }
  });

  it('every dashboard query', () => {
    expect(unknownNames(dashboardQueries())).toEqual([]);
  });

  it('every alert expression', () => {
    expect(unknownNames(alertExpressions())).toEqual([]);
  });

  it('lists as planned only what is not exported yet', () => {
    expect(Object.keys(PLANNED_METRICS).filter((n) => exported.has(n))).toEqual([]);
  });

  it('the exported set is real: it holds the metrics the alerts are about', () => {
    for (const n of [
      'ticklake_consumer_lag',
      'ticklake_ingest_last_record_timestamp_seconds',
      'ticklake_processor_dlq_total',
      'ticklake_warehouse_max_event_timestamp_seconds',
      'ticklake_health_check_ok',
      'ticklake_workflow_run_seconds_bucket',
      'ticklake_process_cpu_seconds_total',
    ])
      expect(exported, n).toContain(n);
  });
});
