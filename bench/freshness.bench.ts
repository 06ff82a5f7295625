/**
 * End-to-end freshness at the demo's rate: event time → queryable in BigQuery (the emulator of the test stack).
 *
 *   node --import tsx bench/freshness.bench.ts [--seconds 180] [--period 30] [--sample-every-ms 1000]
 *
 * The real path, in its own namespace on the shared stack (topic prefix, lake prefix, dataset, task queue):
 * ingest (synthetic, 50 symbols, real time from now, as the demo) → Kafka → processor → sinks of `raw` and
 * `enriched` (the sink's default flush age) → the production worker (test/support/worker-process.ts, a child
 * process) running the production `warehouseLoadSweepWorkflow` from a Temporal schedule like the demo's, but every
 * `--period` seconds instead of 15 minutes. For one tick per `--sample-every-ms`, the bench polls a SELECT of its id
 * in `ticks` and `ticks_enriched` once a second and records when it is first returned.
 *
 * Freshness is bounded by sink flush age + schedule period + sweep duration (+ the stream's sub-second part), so the
 * demo's bound is the same sum with its 15-minute period: that figure is printed too.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { bigqueryClient, kafkaClient, lakeStorage, temporalClient, warehouseDeps } from '../infra/clients.ts';
import { loadConfig } from '../infra/config.ts';
import { createLogger } from '../infra/logger.ts';
import { loadShippedReference } from '../infra/reference-file.ts';
import { testStackProfile } from '../infra/stack/profile.ts';
import { closeDuckDb } from '../lake/duckdb.ts';
import { runIngest } from '../streaming/ingest.ts';
import { StreamProcessor } from '../streaming/processor/processor.ts';
import { ReferenceCache } from '../streaming/reference-cache.ts';
import { LakeSink } from '../streaming/sink/sink.ts';
import type { SourceRecord } from '../streaming/sources/source.ts';
import { createSyntheticSource } from '../streaming/sources/synthetic/source.ts';
import { ensureTopics, topicName } from '../streaming/topics.ts';
import { batchSchedules } from '../workflows/schedules.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { median } from './support.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '180' },
    period: { type: 'string', default: '30' },
    'sample-every-ms': { type: 'string', default: '1000' },
  },
});
const SECONDS = Number(args.seconds);
const PERIOD_S = Number(args.period);
const SAMPLE_EVERY_MS = Number(args['sample-every-ms']);
const DEMO_PERIOD_S = 15 * 60;
const TABLES = ['ticks', 'ticks_enriched'] as const;
const WORKER = fileURLToPath(new URL('../test/support/worker-process.ts', import.meta.url));

const id = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const env = {
  TICKLAKE_TOPICS_PREFIX: `bench-fresh-${id}.`,
  TICKLAKE_S3_LAKE_PREFIX: `bench-fresh-${id}/`,
  TICKLAKE_BIGQUERY_DATASET: `bench_fresh_${id}`,
  TICKLAKE_TEMPORAL_TASK_QUEUE: `bench-fresh-${id}`,
  TICKLAKE_PROCESSOR_GROUP_ID: `bench-fresh-${id}-processor`,
  TICKLAKE_LOG_LEVEL: 'warn',
};
const config = loadConfig({ profile: testStackProfile(), env: { ...process.env, ...env } });
const log = createLogger({ bench: 'freshness' }, 'error');
const nowMs = () => performance.timeOrigin + performance.now();

interface Sample {
  id: string;
  ts: number; // event time, ms
  seen: Partial<Record<(typeof TABLES)[number], number>>;
}

function pct(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : Number.NaN;
}

async function main(): Promise<void> {
  const kafka = kafkaClient(config, 'bench-freshness');
  const storage = lakeStorage(config);
  const bq = bigqueryClient(config);
  const dataset = config.bigquery.dataset;
  await new Warehouse(warehouseDeps(config, storage)).apply();
  await ensureTopics(kafka, config);

  // The production worker, pointed at this run's dataset, lake prefix and task queue.
  const worker = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let workerErr = '';
  await new Promise<void>((resolve, reject) => {
    worker.stderr!.on('data', (d: Buffer) => {
      workerErr = (workerErr + d.toString()).slice(-4000);
      if (workerErr.includes('worker ready')) resolve();
    });
    worker.once('exit', (code) => reject(new Error(`worker exited ${code}: ${workerErr}`)));
  });
  const temporal = await temporalClient(config);
  const def = batchSchedules().find((d) => d.workflowType === 'warehouseLoadSweepWorkflow')!;
  const scheduleId = `bench-fresh-${id}`;
  const schedule = await temporal.client.schedule.create({
    scheduleId,
    spec: { intervals: [{ every: `${PERIOD_S}s` }] },
    action: {
      type: 'startWorkflow',
      workflowType: def.workflowType,
      args: [{ tables: [...TABLES] }],
      taskQueue: config.temporal.taskQueue,
      workflowId: `bench-fresh-${id}/load`,
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1m' },
  });

  const reference = new ReferenceCache(kafka, topicName(config, 'referenceSymbols'), loadShippedReference(), log);
  await reference.start();
  const processor = new StreamProcessor({ config, kafka, reference, log, instanceId: 'freshness' });
  const sinks = (['raw', 'enriched'] as const).map((table) => new LakeSink({ config, kafka, storage, table, log }));
  await processor.start();
  for (const s of sinks) await s.start();

  const samples: Sample[] = [];
  let lastSample = 0;
  const source = createSyntheticSource({ seed: 7, symbols: 50, speed: 1, start: 'now', tradingHours: false });
  const timed = {
    ...source,
    async *batches(signal: AbortSignal): AsyncIterable<SourceRecord[]> {
      for await (const batch of source.batches(signal)) {
        const at = nowMs();
        if (at - lastSample >= SAMPLE_EVERY_MS && batch[0]) {
          lastSample = at;
          const r = batch[0];
          const tick = JSON.parse(typeof r.value === 'string' ? r.value : r.value.toString('utf8'));
          samples.push({ id: tick.id, ts: tick.ts / 1000, seen: {} });
        }
        yield batch;
      }
    },
  };
  const abort = new AbortController();
  const started = nowMs();
  const ingest = runIngest({
    config,
    kafka,
    created: { source: timed, universe: source.universe },
    sourceName: 'synthetic',
    log,
    signal: abort.signal,
  });
  setTimeout(() => abort.abort(), SECONDS * 1000).unref();

  // Poll until every sample is queryable in both tables (or long after the ingest ended).
  const deadline = started + (SECONDS + PERIOD_S * 2 + 90) * 1000;
  let polls = 0;
  while (nowMs() < deadline) {
    const pending = TABLES.map((t) => [t, samples.filter((s) => s.seen[t] === undefined).map((s) => s.id)] as const);
    if (abort.signal.aborted && pending.every(([, ids]) => ids.length === 0)) break;
    for (const [table, ids] of pending) {
      if (!ids.length) continue;
      const [rows] = await bq.query({
        query: `SELECT id FROM \`${dataset}.${table}\` WHERE id IN UNNEST(@ids)`,
        params: { ids },
      });
      const at = nowMs();
      const found = new Set((rows as Array<{ id: string }>).map((r) => r.id));
      for (const s of samples) if (found.has(s.id) && s.seen[table] === undefined) s.seen[table] = at;
    }
    polls++;
    await sleep(1000);
  }
  const ingested = await ingest;

  // The sweeps the schedule ran: their durations are the third term of the bound.
  const sweeps: number[] = [];
  for await (const wf of temporal.client.workflow.list({ query: `TaskQueue = '${config.temporal.taskQueue}'` })) {
    if (wf.type === def.workflowType && wf.closeTime && wf.startTime) {
      sweeps.push(wf.closeTime.getTime() - wf.startTime.getTime());
    }
  }
  await schedule.delete();
  await Promise.all(sinks.map((s) => s.stop()));
  await processor.stop();
  await reference.stop();
  worker.kill('SIGTERM');
  await new Promise((r) => worker.once('exit', r));
  await temporal.close();

  const f = (ms: number) => (Number.isFinite(ms) ? (ms / 1000).toFixed(1) : '–');
  process.stdout.write(
    `freshness: ${ingested.records} ticks in ${ingested.seconds.toFixed(0)} s (${(ingested.records / ingested.seconds).toFixed(0)}/s), ` +
      `50 symbols; sink maxAgeMs ${config.sink.maxAgeMs}, load schedule every ${PERIOD_S} s; ` +
      `${samples.length} sampled ticks, ${polls} polls\n\n`,
  );
  process.stdout.write(`| table | queryable | p50 s | p90 s | p99 s | max s |\n|---|---:|---:|---:|---:|---:|\n`);
  for (const t of TABLES) {
    const lat = samples.filter((s) => s.seen[t] !== undefined).map((s) => s.seen[t]! - s.ts);
    process.stdout.write(
      `| ${t} | ${lat.length}/${samples.length} | ${f(pct(lat, 0.5))} | ${f(pct(lat, 0.9))} | ${f(pct(lat, 0.99))} | ${f(pct(lat, 1))} |\n`,
    );
  }
  const sweepMed = sweeps.length ? median(sweeps) : Number.NaN;
  const sweepMax = sweeps.length ? Math.max(...sweeps) : Number.NaN;
  process.stdout.write(
    `\nload sweeps: ${sweeps.length}, duration median ${f(sweepMed)} s, max ${f(sweepMax)} s\n` +
      `bound here: sink flush age ${f(config.sink.maxAgeMs)} s + period ${PERIOD_S} s + sweep ≤ ${f(sweepMax)} s ` +
      `= ${f(config.sink.maxAgeMs + PERIOD_S * 1000 + sweepMax)} s\n` +
      `demo's bound (15-minute schedule): ${f(config.sink.maxAgeMs)} s + ${DEMO_PERIOD_S} s + sweep ≈ ` +
      `${f(config.sink.maxAgeMs + DEMO_PERIOD_S * 1000 + sweepMax)} s\n`,
  );

  await bq
    .dataset(dataset)
    .delete({ force: true })
    .catch(() => undefined);
  for (const o of await storage.list('')) await storage.delete(o.key);
  storage.client.destroy();
  const admin = kafka.admin();
  await admin.connect();
  const mine = (await admin.listTopics()).filter((t) => t.startsWith(env.TICKLAKE_TOPICS_PREFIX));
  await admin.deleteTopics({ topics: mine }).catch(() => {});
  await admin.disconnect();
  await closeDuckDb();
  process.exit(0);
}

await main();
