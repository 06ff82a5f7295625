/**
 * End-to-end freshness at the demo's rate: event time → queryable in BigQuery (the emulator of the test stack).
 *
 *   node --import tsx bench/freshness.bench.ts [--seconds 120] [--period 30] [--sample-every-ms 5000] [--poll-ms 5000]
 *
 * The real path, in its own namespace on the shared stack (topic prefix, lake prefix, dataset, task queue):
 * ingest (synthetic, 50 symbols, real time from now, as the demo) → Kafka → processor → sinks of `raw` and
 * `enriched` (the sink's default flush age) → the production worker (test/support/worker-process.ts, a child
 * process) running the production `warehouseLoadSweepWorkflow` from a Temporal schedule like the demo's, but every
 * `--period` seconds instead of 15 minutes. For one tick per `--sample-every-ms`, the bench polls a SELECT of its id
 * in `ticks` and `ticks_enriched` every `--poll-ms` and records when it is first returned.
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
    seconds: { type: 'string', default: '120' },
    period: { type: 'string', default: '30' },
    'sample-every-ms': { type: 'string', default: '5000' },
    'poll-ms': { type: 'string', default: '5000' },
    drain: { type: 'string', default: '300' },
  },
});
const DRAIN_S = Number(args.drain);
const POLL_MS = Number(args['poll-ms']);
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
  // Load workflow ids (`load/<table>/<day>`) are namespace-wide: a running load of today's day by anyone else on
  // this Temporal would make every sweep of ours skip it, and measure nothing.
  const today = new Date().toISOString().slice(0, 10);
  for (const t of TABLES) {
    const other = await temporal.client.workflow
      .getHandle(`load/${t}/${today}`)
      .describe()
      .catch(() => undefined);
    if (other?.status.name === 'RUNNING') {
      throw new Error(`load/${t}/${today} is running on this Temporal (another run's): sweeps would skip it`);
    }
  }
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
  const running = runIngest({
    config,
    kafka,
    created: { source: timed, universe: source.universe },
    sourceName: 'synthetic',
    log,
    signal: abort.signal,
  });
  setTimeout(() => abort.abort(), SECONDS * 1000).unref();

  // Poll until every sample is queryable in both tables, or `--drain` seconds after the ingest ended. The emulator
  // runs a query only between load jobs, so a tick first returned by a query is recorded at that query's end (an
  // upper bound; the resolution is a poll's duration, printed).
  let ingestEnded = Number.POSITIVE_INFINITY;
  const ingest = running.then((r) => {
    ingestEnded = nowMs();
    return r;
  });
  let polls = 0;
  const pollMs: number[] = [];
  while (nowMs() < ingestEnded + DRAIN_S * 1000) {
    const pending = TABLES.map((t) => [t, samples.filter((s) => s.seen[t] === undefined).map((s) => s.id)] as const);
    if (Number.isFinite(ingestEnded) && pending.every(([, ids]) => ids.length === 0)) break;
    const at = nowMs();
    for (const [table, ids] of pending) {
      if (!ids.length) continue;
      const [rows] = await bq.query({
        query: `SELECT id FROM \`${dataset}.${table}\` WHERE id IN UNNEST(@ids)`,
        params: { ids },
      });
      const done = nowMs();
      const found = new Set((rows as Array<{ id: string }>).map((r) => r.id));
      for (const s of samples) if (found.has(s.id) && s.seen[table] === undefined) s.seen[table] = done;
    }
    polls++;
    pollMs.push(nowMs() - at);
    await sleep(Math.max(0, POLL_MS - (nowMs() - at)));
  }
  const ingested = await ingest;
  const recent = (await schedule.describe()).info.recentActions;

  // The sweeps the schedule started: their durations are the third term of the bound, their results say whether
  // anything was skipped. Then no sweep or load of ours may outlive the worker (their ids would block later runs).
  await schedule.delete();
  const sweeps: number[] = [];
  const totals = { loaded: 0, unchanged: 0, skippedRunning: 0, failed: 0 };
  const deadline = nowMs() + 180_000;
  for (const action of recent) {
    const handle = temporal.client.workflow.getHandle(
      action.action.workflow.workflowId,
      action.action.workflow.firstExecutionRunId,
    );
    const result = await Promise.race([handle.result(), sleep(Math.max(0, deadline - nowMs()))]);
    if (result) {
      const r = result as { loaded: number; unchanged: number; skippedRunning: number; failed: string[] };
      totals.loaded += r.loaded;
      totals.unchanged += r.unchanged;
      totals.skippedRunning += r.skippedRunning;
      totals.failed += r.failed.length;
      const wf = await handle.describe();
      if (wf.closeTime) sweeps.push(wf.closeTime.getTime() - wf.startTime.getTime());
    } else {
      await handle.terminate('freshness bench ended').catch(() => {});
      for (const t of TABLES) {
        const child = temporal.client.workflow.getHandle(`load/${t}/${today}`);
        const d = await child.describe().catch(() => undefined);
        if (d?.status.name === 'RUNNING' && d.parentExecution?.workflowId === action.action.workflow.workflowId) {
          await child.terminate('freshness bench ended').catch(() => {});
        }
      }
    }
  }
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
      `${samples.length} sampled ticks, ${polls} polls (each ${f(median(pollMs))} s median: the resolution)\n\n`,
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
    `\nload sweeps: ${sweeps.length}, duration median ${f(sweepMed)} s, max ${f(sweepMax)} s; days loaded ` +
      `${totals.loaded}, unchanged ${totals.unchanged}, skipped (running) ${totals.skippedRunning}, failed ${totals.failed}\n` +
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
