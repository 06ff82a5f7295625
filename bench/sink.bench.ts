/**
 * The lake sink end to end against the test-profile stack: Kafka `ticks.raw` → decode → Parquet → S3 (versitygw) →
 * manifest commit, next to DuckDB writing the same rows to a Parquet file in the same run.
 *
 * The sink's rate counts from the moment its group is joined (start-up is reported apart). A bare kafkajs consumer
 * of the same records is the ceiling for any sink on this client.
 *
 *   node --import tsx bench/sink.bench.ts [--rows 300000] [--runs 3]   (TICKLAKE_SINK_ENCODER_THREADS=n to vary)
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { loadConfig, type Config } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import type { Tick } from '../core/schemas/tick.ts';
import { kafkaClient, lakeStorage } from '../infra/clients.ts';
import { testStackProfile } from '../infra/stack/profile.ts';
import { committedOffsets } from '../lake/manifest.ts';
import { lakeStats } from '../lake/reader.ts';
import { LakeSink } from '../streaming/sink/sink.ts';
import { applyTopics, topicName, topicSpecs } from '../streaming/topics.ts';
import { appendTicks, syntheticTicks } from './lake-bench-util.ts';
import { median, peakRss, printTable, startRssSampler } from './support.ts';

const { values: args } = parseArgs({
  options: { rows: { type: 'string', default: '300000' }, runs: { type: 'string', default: '3' } },
});
const ROWS = Number(args.rows);
const RUNS = Number(args.runs);
const log = createLogger({ bench: 'sink' }, process.env.BENCH_LOG === 'debug' ? 'debug' : 'error');

async function fill(config: Config, ticks: Tick[]): Promise<void> {
  const kafka = kafkaClient(config);
  const admin = kafka.admin();
  await admin.connect();
  await applyTopics(admin, Object.values(topicSpecs(config)), 1);
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < ticks.length; i += 10_000) {
    await producer.send({
      topic: topicName(config, 'raw'),
      acks: -1,
      messages: ticks.slice(i, i + 10_000).map((t) => ({ key: t.symbol, value: JSON.stringify(t) })),
    });
  }
  await producer.disconnect();
}

/** Until the sink's consumer group is stable with a member: from then on the sink only fetches and writes. */
async function joined(config: Config, groupId: string): Promise<void> {
  const admin = kafkaClient(config).admin();
  await admin.connect();
  for (;;) {
    const { groups } = await admin.describeGroups([groupId]);
    if (groups[0]?.state === 'Stable' && groups[0].members.length > 0) break;
    await sleep(20);
  }
  await admin.disconnect();
}

async function runSink(config: Config): Promise<{ rowsPerSec: number; bytes: number; startMs: number }> {
  const storage = lakeStorage(config);
  const sink = new LakeSink({ config, kafka: kafkaClient(config), storage, table: 'raw', log });
  const t0 = performance.now();
  await sink.start();
  await joined(config, `${config.topics.prefix}${config.sink.groupPrefix}-raw`);
  // Throughput from the moment the group is joined; start-up (threads, connections, join) is reported apart.
  const started = performance.now();
  const topic = topicName(config, 'raw');
  for (;;) {
    const committed = await committedOffsets(storage, 'raw');
    const total = committed.filter((c) => c.topic === topic).reduce((n, c) => n + Number(c.nextOffset), 0);
    if (total >= ROWS) break;
    await sleep(100);
  }
  const secs = (performance.now() - started) / 1000;
  await sink.stop();
  const stats = await lakeStats(storage, 'raw');
  return { rowsPerSec: ROWS / secs, bytes: stats.total.bytes, startMs: started - t0 };
}

/** The ceiling for any kafkajs-based sink here: the same records consumed and thrown away. */
async function bareConsume(config: Config): Promise<number> {
  const groupId = `${config.topics.prefix}bare-consume`;
  const consumer = kafkaClient(config).consumer({
    groupId,
    readUncommitted: false,
    maxBytesPerPartition: 8 << 20,
    maxBytes: 32 << 20,
    maxWaitTimeInMs: 250,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: topicName(config, 'raw'), fromBeginning: true });
  let seen = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      seen += batch.messages.length;
      if (seen >= ROWS) done();
    },
  });
  await joined(config, groupId);
  const started = performance.now();
  await all;
  const secs = (performance.now() - started) / 1000;
  await consumer.disconnect();
  return ROWS / secs;
}

async function duckdb(ticks: Tick[]): Promise<{ rowsPerSec: number; bytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'sink-bench-'));
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const out = join(dir, 'raw.parquet');
  const started = performance.now();
  await appendTicks(con, ticks);
  await con.run(`copy raw to '${out}' (format parquet, compression zstd)`);
  const secs = (performance.now() - started) / 1000;
  const bytes = statSync(out).size;
  con.closeSync();
  rmSync(dir, { recursive: true, force: true });
  return { rowsPerSec: ticks.length / secs, bytes };
}

const sampler = startRssSampler();
const ticks = syntheticTicks(ROWS);
const sinkRates: number[] = [];
const bareRates: number[] = [];
const startMs: number[] = [];
const duckRates: number[] = [];
let sinkBytes = 0;
let duckBytes = 0;
for (let run = 0; run < RUNS; run++) {
  const prefix = `sinkbench-${Date.now()}-${run}.`;
  const config = loadConfig({
    profile: testStackProfile(),
    overrides: {
      topics: { prefix, partitions: 6 },
      s3: { lakePrefix: `${prefix.replace('.', '')}/` },
      // Flush on size (not the 10 s age limit) so the run measures throughput, not waiting.
      sink: { maxRows: 50_000, maxAgeMs: 1000 },
    },
  });
  await fill(config, ticks);
  const s = await runSink(config);
  sinkRates.push(s.rowsPerSec);
  startMs.push(s.startMs);
  bareRates.push(await bareConsume(config));
  sinkBytes = s.bytes;
  const d = await duckdb(ticks);
  duckRates.push(d.rowsPerSec);
  duckBytes = d.bytes;
  const storage = lakeStorage(config);
  for (const o of await storage.list('')) await storage.delete(o.key);
  const admin = kafkaClient(config).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: (await admin.listTopics()).filter((t) => t.startsWith(prefix)) }).catch(() => {});
  await admin.disconnect();
  process.stderr.write(`run ${run + 1}/${RUNS} done\n`);
}
sampler.stop();
printTable(`sink benchmark: ${ROWS} raw ticks, 6 partitions, ${RUNS} runs, medians (rows/s)`, [
  ['sink: Kafka → Parquet → S3 → manifest', median(sinkRates), median(duckRates), 'DuckDB appender + COPY to Parquet'],
  ['sink: Kafka → Parquet → S3 → manifest', median(sinkRates), median(bareRates), 'bare kafkajs consume, nothing done'],
]);
process.stdout.write(
  `lake bytes: ${(sinkBytes / 1024).toFixed(0)} KiB (ticklake, per-partition files) vs ${(duckBytes / 1024).toFixed(0)} KiB (DuckDB, one file)\n` +
    `sink start-up (encoder threads, Kafka connections, group join): ${median(startMs).toFixed(0)} ms\n` +
    `peak RSS of the benchmark process: ${(peakRss() / 1024 / 1024).toFixed(0)} MiB\n`,
);
process.exit(0);
