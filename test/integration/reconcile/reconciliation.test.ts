import { NO_MODEL_SCORERS } from '../../../core/models/score.ts';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReconcileActivities, type ReconcileSummary } from '../../../activities/reconcile.ts';
import type { Config } from '../../../core/config.ts';
import type { Bar } from '../../../core/schemas/bar.ts';
import type { LateTick } from '../../../core/schemas/late.ts';
import type { ReconciliationRow } from '../../../core/schemas/reconciliation.ts';
import { loadRulesFile, rulesFilePath } from '../../../infra/alerts/rules-file.ts';
import { bigqueryClient, kafkaClient, lakeStorage, warehouseDeps } from '../../../infra/clients.ts';
import { loadConfig } from '../../../infra/config.ts';
import { createLogger } from '../../../infra/logger.ts';
import { startReconciliationMonitor } from '../../../infra/reconciliation-metrics.ts';
import { loadShippedReference } from '../../../infra/reference-file.ts';
import { testStackProfile } from '../../../infra/stack/profile.ts';
import { closeDuckDb } from '../../../lake/duckdb.ts';
import { lakeStats, readRows } from '../../../lake/reader.ts';
import type { S3Storage } from '../../../lake/storage/s3.ts';
import { barsTable, reconciliationTable, type SinkTableName } from '../../../lake/tables.ts';
import { LakeWriter } from '../../../lake/writer.ts';
import { AlertProcessor } from '../../../streaming/alerts/alert-processor.ts';
import { runIngest } from '../../../streaming/ingest.ts';
import { StreamProcessor } from '../../../streaming/processor/processor.ts';
import { ReferenceCache } from '../../../streaming/reference-cache.ts';
import { LakeSink } from '../../../streaming/sink/sink.ts';
import { SINK_TABLES } from '../../../streaming/sink/tables.ts';
import { createSyntheticSource } from '../../../streaming/sources/synthetic/source.ts';
import { topicName } from '../../../streaming/topics.ts';
import { tableRef } from '../../../warehouse/sql.ts';
import { Warehouse } from '../../../warehouse/warehouse.ts';
import { reconciliationWorkflow } from '../../../workflows/index.ts';
import { WORKFLOW_IDS } from '../../../workflows/constants.ts';
import { uniqueName } from '../../support/ids.ts';
import { deleteTopicsWithPrefix, readTopic, waitForCaughtUp } from '../../support/kafka.ts';
import { localTemporal, recordHistory, startTestWorker } from '../../support/temporal.ts';
import { uniqueDataset } from '../../support/warehouse.ts';
import { waitUntil } from '../../support/wait.ts';

/**
 * Reconciliation on the real stack: a synthetic market through ingest → Kafka → the processor and the speed layer
 * → the lake sinks (raw, bars, alerts on S3), then reconciliationWorkflow on Temporal over 35 closed minutes of it
 * (8 symbols: 280 windows, two lake partitions). A market with no tick later than the allowed lateness reconciles
 * with no difference; one with trades held back minutes reports exactly their windows, as late; a bar corrupted in
 * the lake is a disagreement, in the gauges, in BigQuery, and in `ticklake reconcile`'s exit status.
 */
const BIN = fileURLToPath(new URL('../../../bin/ticklake.mjs', import.meta.url));
const log = createLogger({ test: 'reconcile' }, 'warn');
const FROM = '2026-11-20T14:30:00Z';
const FROM_US = Date.parse(FROM) * 1000;
const TO_US = Date.parse('2026-11-20T15:05:00Z') * 1000;
const MIN = 60_000_000;
const dataset = uniqueDataset('it_recon');
const prefixes: string[] = [];
const storages: S3Storage[] = [];
let env: TestWorkflowEnvironment;

interface Landed {
  config: Config;
  storage: S3Storage;
  late: LateTick[];
  lakePrefix: string;
}

function configFor(name: string): { config: Config; lakePrefix: string } {
  const prefix = `${uniqueName(name)}.`;
  const lakePrefix = `${prefix.replace('.', '')}/`;
  prefixes.push(prefix);
  const profile = testStackProfile() as Record<string, Record<string, unknown> | undefined>;
  const mine: Record<string, Record<string, unknown>> = {
    topics: { prefix, partitions: 3 },
    processor: { groupId: `${prefix}processor` },
    alerts: { groupId: `${prefix}alerts`, deliverWebhooks: false },
    sink: { maxAgeMs: 400, groupPrefix: `${prefix}sink` },
    s3: { lakePrefix },
    bigquery: { dataset },
  };
  const overrides = { ...profile };
  for (const [k, v] of Object.entries(mine)) overrides[k] = { ...profile[k], ...v };
  const config = loadConfig({ overrides });
  return { config, lakePrefix };
}

/** The market through the whole stream path into the lake; returns once every sink has landed every record. */
async function landInLake(name: string, anomalies: Record<string, unknown>, seed: number): Promise<Landed> {
  const { config, lakePrefix } = configFor(name);
  const kafka = kafkaClient(config, 'reconcile-test');
  const storage = lakeStorage(config);
  storages.push(storage);
  const source = createSyntheticSource({
    seed,
    symbols: 8,
    maxTicks: 18_000,
    ratePerSymbol: 0.5,
    speed: 0,
    start: FROM,
    anomalies,
  });
  await runIngest({
    config,
    kafka,
    created: { source, universe: source.universe },
    sourceName: 'synthetic',
    log,
    signal: new AbortController().signal,
    finalWatermark: true,
  });
  const reference = new ReferenceCache(kafka, topicName(config, 'referenceSymbols'), loadShippedReference(), log);
  await reference.start();
  const processor = new StreamProcessor({ config, kafka, reference, log, instanceId: `${name}-p` });
  const { rules } = loadRulesFile(rulesFilePath(config));
  // No models in this run's lake: the model rule scores nothing here, as reconciliation's historical scorer does.
  const speed = new AlertProcessor({
    config,
    kafka,
    reference,
    rules,
    log,
    instanceId: `${name}-a`,
    partitions: 3,
    scorers: NO_MODEL_SCORERS,
  });
  await Promise.all([processor.start(), speed.start()]);
  const raw = topicName(config, 'raw');
  await waitForCaughtUp(kafka, config.processor.groupId, raw);
  await waitForCaughtUp(kafka, config.alerts.groupId, raw);
  await Promise.all([processor.stop(), speed.stop()]);
  await reference.stop();

  const tables: SinkTableName[] = ['raw', 'bars', 'alerts'];
  const expected = new Map<string, number>();
  for (const t of tables) {
    const msgs = await readTopic(kafka, topicName(config, SINK_TABLES[t].topic));
    const rows = msgs.filter(
      (m) =>
        !SINK_TABLES[t].isControl(m.key === null ? null : Buffer.from(m.key)) &&
        SINK_TABLES[t].decode(m.value).kind === 'row',
    );
    expected.set(t, rows.length);
  }
  const sinks = tables.map((table) => new LakeSink({ config, kafka, storage, table, log }));
  await Promise.all(sinks.map((s) => s.start()));
  await waitUntil(
    async () => {
      for (const t of tables) if ((await lakeStats(storage, t)).total.rows !== expected.get(t)) return false;
      return true;
    },
    `the sinks landing ${[...expected].map(([t, n]) => `${n} ${t}`).join(', ')}`,
    120_000,
    500,
  );
  await Promise.all(sinks.map((s) => s.stop()));
  const late = (await readTopic(kafka, topicName(config, 'late'))).map(
    (m) => JSON.parse(m.value!.toString()) as LateTick,
  );
  return { config, storage, late, lakePrefix };
}

async function reconcileOnTemporal(landed: Landed, runKey: string): Promise<ReconcileSummary> {
  const taskQueue = `recon-${randomUUID()}`;
  const stop = await startTestWorker(
    env,
    taskQueue,
    createReconcileActivities({ storage: landed.storage, config: landed.config }),
  );
  try {
    const workflowId = WORKFLOW_IDS.reconciliation(`${runKey}-${randomUUID()}`);
    const summary = await env.client.workflow.execute(reconciliationWorkflow, {
      taskQueue,
      workflowId,
      args: [{ fromUs: FROM_US, toUs: TO_US }],
    });
    await recordHistory(env, 'reconciliation', workflowId);
    return summary;
  } finally {
    await stop();
  }
}

async function latestRows(storage: S3Storage): Promise<ReconciliationRow[]> {
  const rows: ReconciliationRow[] = [];
  for await (const p of readRows(storage, reconciliationTable, {})) rows.push(...p.rows);
  return rows;
}

let clean: Landed;
let withLate: Landed;

beforeAll(async () => {
  env = await localTemporal();
  clean = await landInLake('recon-clean', { duplicate: { count: 20 }, outOfOrder: { count: 20 } }, 3);
  withLate = await landInLake('recon-late', { late: { count: 10, min: 100, max: 400 } }, 4);
}, 600_000);

afterAll(async () => {
  const kafka = kafkaClient(clean?.config ?? loadConfig({ overrides: testStackProfile() }), 'reconcile-cleanup');
  for (const p of prefixes) await deleteTopicsWithPrefix(kafka, p);
  for (const s of storages) {
    for (const o of await s.list('')) await s.delete(o.key);
    s.client.destroy();
  }
  await bigqueryClient(testStackConfigOf(clean))
    .dataset(dataset)
    .delete({ force: true })
    .catch(() => undefined);
  await closeDuckDb();
  await env?.teardown();
});

function testStackConfigOf(l: Landed | undefined): Config {
  return l?.config ?? loadConfig({ overrides: testStackProfile() });
}

describe('reconciliation of the speed layer against the batch truth, on the real stack', () => {
  it('finds no difference over many closed windows of a market with no tick later than the lateness', async () => {
    expect(clean.late).toEqual([]);
    const s = await reconcileOnTemporal(clean, 'clean');
    expect(s.examples).toEqual([]);
    expect(s.totals.bars).toMatchObject({ late: 0, missing_partition: 0, disagreement: 0 });
    expect(s.totals.alerts).toMatchObject({ late: 0, missing_partition: 0, disagreement: 0 });
    expect(s.totals.bars.matched).toBe(8 * 35);
    expect(s.totals.bars.streamRows).toBe(8 * 35);
    const rows = await latestRows(clean.storage);
    expect(rows.map((r) => `${r.table} ${r.partition}`).sort()).toEqual([
      'alerts dt=2026-11-20/hour=14',
      'alerts dt=2026-11-20/hour=15',
      'bars dt=2026-11-20/hour=14',
      'bars dt=2026-11-20/hour=15',
    ]);
  }, 180_000);

  it('reports exactly the windows of trades held back beyond the lateness, classified late', async () => {
    const inRange = withLate.late.filter((t) => t.windowStart >= FROM_US && t.windowStart < TO_US);
    expect(inRange.length).toBeGreaterThan(2);
    const s = await reconcileOnTemporal(withLate, 'late');
    expect(s.examples.filter((d) => d.class !== 'late')).toEqual([]);
    expect(s.totals.bars.disagreement + s.totals.alerts.disagreement).toBe(0);
    const windows = new Set(inRange.map((t) => `${t.symbol}@${t.windowStart}`));
    expect(new Set(s.examples.filter((d) => d.table === 'bars').map((d) => d.key))).toEqual(windows);
    expect(s.totals.bars.late).toBe(windows.size);
    expect(s.totals.bars.lateTicks).toBe(inRange.length);
  }, 180_000);

  it('finds a bar corrupted in the lake as a disagreement: in the table, the gauges, BigQuery and the CLI', async () => {
    // A later revision of one window with one share more: what a buggy stream would have written.
    const victim = await firstBar(clean.storage, FROM_US + 10 * MIN);
    const corrupt: Bar = { ...victim, volume: victim.volume + 1, revision: victim.revision + 1 };
    const lake = new LakeWriter(clean.storage);
    const range = { topic: 'corruption', partition: 0, startOffset: '0', endOffset: '0' };
    await lake.commit(barsTable, await lake.writeFile(barsTable, [corrupt], range));

    const s = await reconcileOnTemporal(clean, 'corrupt');
    expect(s.totals.bars.disagreement).toBe(1);
    expect(s.examples[0]).toMatchObject({
      table: 'bars',
      class: 'disagreement',
      key: `${victim.symbol}@${victim.windowStart}`,
    });
    expect(s.examples[0]!.detail).toContain(`volume ${victim.volume} (batch) != ${corrupt.volume} (stream)`);

    const rows = await latestRows(clean.storage);
    expect(rows.filter((r) => r.table === 'bars').reduce((n, r) => n + r.disagreement, 0)).toBe(1);

    const registry = new Registry();
    const monitor = startReconciliationMonitor({
      storage: clean.storage,
      registry,
      intervalMs: 60_000,
      lookbackHours: 24 * 365,
      tolerance: 0,
      log,
    });
    await monitor.poll();
    monitor.stop();
    const gauge = (await registry.getSingleMetric('ticklake_reconciliation_mismatches')!.get()).values;
    expect(gauge.find((v) => v.labels.table === 'bars' && v.labels.class === 'disagreement')!.value).toBe(1);
    expect(gauge.find((v) => v.labels.table === 'alerts' && v.labels.class === 'disagreement')!.value).toBe(0);

    const wh = new Warehouse(warehouseDeps(clean.config, clean.storage));
    await wh.apply();
    await wh.loadDay('reconciliation', '2026-11-20');
    const loaded = await wh.query<{ table_name: string; disagreement: number; n: number }>(
      `SELECT table_name, SUM(disagreement) AS disagreement, COUNT(*) AS n FROM ${tableRef(wh.ref, 'reconciliation')} ` +
        'GROUP BY table_name ORDER BY table_name',
    );
    expect(loaded.map((r) => [r.table_name, Number(r.disagreement), Number(r.n)])).toEqual([
      ['alerts', 0, 2],
      ['bars', 1, 2],
    ]);

    const cli = spawnSync(
      process.execPath,
      [BIN, '--profile', 'test', 'reconcile', '--from', FROM, '--to', '2026-11-20T15:05Z', '--json', '--no-write'],
      {
        env: { ...process.env, TICKLAKE_S3_LAKE_PREFIX: clean.lakePrefix, TICKLAKE_LOG_LEVEL: 'warn' },
        encoding: 'utf8',
      },
    );
    expect(cli.status, cli.stderr).toBe(1);
    const out = JSON.parse(cli.stdout) as ReconcileSummary & { tolerance: number };
    expect(out.totals.bars.disagreement).toBe(1);
    expect(out.written).toBe(false);
  }, 240_000);
});

async function firstBar(storage: S3Storage, windowStart: number): Promise<Bar> {
  for await (const p of readRows(storage, barsTable, { fromUs: windowStart, toUs: windowStart + MIN })) {
    if (p.rows.length) return p.rows[0]!;
  }
  throw new Error('no bar to corrupt');
}
