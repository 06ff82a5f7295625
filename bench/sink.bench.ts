/**
 * The lake sink end to end against the test-profile stack: Kafka `ticks.raw` → decode → Parquet → S3 (versitygw) →
 * manifest commit, next to DuckDB writing the same rows to a Parquet file in the same run.
 *
 * The topic is filled once; each run starts a sink in its own process (as `ticklake sink` runs: the input rows
 * this benchmark holds would otherwise tax the sink's garbage collector) on a fresh lake prefix, so it reads the
 * whole backlog. Two rates: catch-up counts from the moment the group is joined (the first flush waits for a full
 * buffer), steady state from the first manifest commit on (what a sink keeps up with). The sink process's CPU time
 * per row and peak RSS are reported too: on 2 cores shared with the broker, CPU per row bounds any rate. Runs
 * alternate 1 and 2 encoder threads. A bare kafkajs consumer of the same records, also in its own process, is the
 * ceiling for any sink on this client.
 *
 *   node --import tsx bench/sink.bench.ts [--rows 1500000] [--runs 3]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { type Config } from '../core/config.ts';
import { loadConfig } from '../infra/config.ts';
import { createLogger } from '../infra/logger.ts';
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
  options: {
    rows: { type: 'string', default: '1500000' },
    runs: { type: 'string', default: '3' },
    // Internal: the child processes' role and settings.
    child: { type: 'string' },
    topics: { type: 'string' },
    lake: { type: 'string' },
    threads: { type: 'string' },
    run: { type: 'string' },
    defaults: { type: 'boolean', default: false },
  },
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
  // Loading the backlog is not measured: several requests in flight, order within a partition kept per request.
  const producer = kafka.producer({ maxInFlightRequests: 4 });
  await producer.connect();
  const inFlight = new Set<Promise<unknown>>();
  for (let i = 0; i < ticks.length; i += 10_000) {
    const sent = producer.send({
      topic: topicName(config, 'raw'),
      acks: -1,
      messages: ticks.slice(i, i + 10_000).map((t) => ({ key: t.symbol, value: JSON.stringify(t) })),
    });
    inFlight.add(sent);
    void sent.finally(() => inFlight.delete(sent));
    if (inFlight.size >= 4) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
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

interface SinkRun {
  catchUp: number;
  steady: number;
  cpuUsPerRow: number;
  cores: number;
  bytes: number;
  startMs: number;
  peakRssMiB: number;
}

async function runSink(config: Config): Promise<SinkRun> {
  const storage = lakeStorage(config);
  const sink = new LakeSink({ config, kafka: kafkaClient(config), storage, table: 'raw', log });
  const t0 = performance.now();
  await sink.start();
  await joined(config, `${config.topics.prefix}${config.sink.groupPrefix}-raw`);
  // From the moment the group is joined; start-up (threads, connections, join) is reported apart.
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const topic = topicName(config, 'raw');
  let first: { at: number; rows: number } | undefined;
  for (;;) {
    const committed = await committedOffsets(storage, 'raw');
    const total = committed.filter((c) => c.topic === topic).reduce((n, c) => n + Number(c.nextOffset), 0);
    if (total > 0 && !first) first = { at: performance.now(), rows: total };
    if (total >= ROWS) break;
    await sleep(50);
  }
  const ended = performance.now();
  const cpu = process.cpuUsage(cpu0);
  await sink.stop();
  const stats = await lakeStats(storage, 'raw');
  const secs = (ended - started) / 1000;
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  return {
    catchUp: ROWS / secs,
    steady: (ROWS - first!.rows) / ((ended - first!.at) / 1000),
    cpuUsPerRow: (cpuSecs * 1e6) / ROWS,
    cores: cpuSecs / secs,
    bytes: stats.total.bytes,
    startMs: started - t0,
    peakRssMiB: peakRss() / 1024 / 1024,
  };
}

/** The ceiling for any kafkajs-based sink here: the same records consumed and thrown away. */
async function bareConsume(config: Config, run: number): Promise<number> {
  const groupId = `${config.topics.prefix}bare-consume-${run}`;
  const consumer = kafkaClient(config).consumer({
    groupId,
    readUncommitted: false,
    maxBytesPerPartition: 8 << 20,
    maxBytes: 32 << 20,
    maxWaitTimeInMs: 250,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: topicName(config, 'raw'), fromBeginning: true });
  // Timed from the join event itself: this consumer is fast enough that polling for the join would cut the run.
  let joinedAt = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => (joinedAt = performance.now()));
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
  await all;
  const secs = (performance.now() - joinedAt) / 1000;
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

const configFor = (topicsPrefix: string, lakePrefix: string, encoderThreads: number, defaults = false): Config =>
  loadConfig({
    profile: testStackProfile(),
    overrides: {
      topics: { prefix: topicsPrefix, partitions: 6 },
      s3: { lakePrefix },
      // Flush on size (not the 10 s age limit) so the run measures throughput, not waiting. `defaults`: the
      // shipped flush bounds, under which a backlog piles up to the memory bound before the first flush.
      sink: defaults ? { encoderThreads } : { maxRows: 50_000, maxAgeMs: 1000, encoderThreads },
    },
  });

if (args.child) {
  // A child: one sink run or one bare consume, result as JSON on stdout.
  const sampler = startRssSampler();
  const config = configFor(args.topics!, args.lake!, Number(args.threads), args.defaults);
  const result = args.child === 'sink' ? await runSink(config) : await bareConsume(config, Number(args.run));
  sampler.stop();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

function child<T>(role: 'sink' | 'bare', topics: string, extra: string[]): T {
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--child',
      role,
      '--rows',
      String(ROWS),
      '--topics',
      topics,
      ...extra,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!) as T;
}

const ticks = syntheticTicks(ROWS);
const topicsPrefix = `sinkbench-${Date.now()}.`;
await fill(configFor(topicsPrefix, 'unused/', 1), ticks);
const THREADS = [1, 2] as const;
const runs = new Map<number, SinkRun[]>(THREADS.map((t) => [t, []]));
const bareRates: number[] = [];
const duckRates: number[] = [];
let duckBytes = 0;
for (let run = 0; run < RUNS; run++) {
  for (const threads of THREADS) {
    const lake = `sinkbench-${Date.now()}-${run}-${threads}/`;
    runs.get(threads)!.push(child<SinkRun>('sink', topicsPrefix, ['--lake', lake, '--threads', String(threads)]));
    const storage = lakeStorage(configFor(topicsPrefix, lake, threads));
    for (const o of await storage.list('')) await storage.delete(o.key);
  }
  bareRates.push(child<number>('bare', topicsPrefix, ['--lake', 'unused/', '--threads', '1', '--run', String(run)]));
  const d = await duckdb(ticks);
  duckRates.push(d.rowsPerSec);
  duckBytes = d.bytes;
  process.stderr.write(`run ${run + 1}/${RUNS} done\n`);
}
// Memory, not speed: one sink with the default flush bounds catching up the same backlog.
const defaultsLake = `sinkbench-${Date.now()}-defaults/`;
const withDefaults = child<SinkRun>('sink', topicsPrefix, ['--lake', defaultsLake, '--threads', '1', '--defaults']);
const defaultsStorage = lakeStorage(configFor(topicsPrefix, defaultsLake, 1));
for (const o of await defaultsStorage.list('')) await defaultsStorage.delete(o.key);
const admin = kafkaClient(configFor(topicsPrefix, 'unused/', 1)).admin();
await admin.connect();
await admin
  .deleteTopics({ topics: (await admin.listTopics()).filter((t) => t.startsWith(topicsPrefix)) })
  .catch(() => {});
await admin.disconnect();

const duck = median(duckRates);
const bare = median(bareRates);
const rowsOf = (threads: number) =>
  [
    [`sink catch-up from join, ${threads} encoder thread${threads > 1 ? 's' : ''}`, 'catchUp'],
    [`sink steady state, ${threads} encoder thread${threads > 1 ? 's' : ''}`, 'steady'],
  ].map(([name, key]) => {
    const rate = median(runs.get(threads)!.map((r) => r[key as 'catchUp' | 'steady']));
    return [name!, rate, duck, 'DuckDB appender + COPY to Parquet'] as [string, number, number, string];
  });
printTable(`sink benchmark: ${ROWS} raw ticks, 6 partitions, ${RUNS} runs, medians (rows/s)`, [
  ...rowsOf(1),
  ...rowsOf(2),
  [
    'sink steady state, 2 encoder threads',
    median(runs.get(2)!.map((r) => r.steady)),
    bare,
    'bare kafkajs consume, nothing done',
  ],
]);
const shipped = loadConfig({ profile: testStackProfile() }).sink;
const one = runs.get(1)!;
const two = runs.get(2)!;
const fmt = (rs: SinkRun[], key: 'cpuUsPerRow' | 'cores' | 'peakRssMiB' | 'startMs', digits = 2) =>
  median(rs.map((r) => r[key])).toFixed(digits);
process.stdout.write(
  `sink process CPU (all threads) per row: ${fmt(one, 'cpuUsPerRow')} µs with 1 encoder thread (${fmt(one, 'cores')} cores busy), ` +
    `${fmt(two, 'cpuUsPerRow')} µs with 2 (${fmt(two, 'cores')} cores)\n` +
    `sink process peak RSS: ${fmt(one, 'peakRssMiB', 0)} MiB with 1 encoder thread, ${fmt(two, 'peakRssMiB', 0)} MiB with 2; ` +
    `${withDefaults.peakRssMiB.toFixed(0)} MiB with the default flush bounds (sink.maxRows ${shipped.maxRows} per ` +
    `partition, maxPendingBytes ${shipped.maxPendingBytes / 1048576} MiB: the backlog piles up before the first ` +
    `flush; ${withDefaults.catchUp.toFixed(0)} rows/s)\n` +
    `lake bytes: ${(one[0]!.bytes / 1024).toFixed(0)} KiB (ticklake, per-partition files) vs ${(duckBytes / 1024).toFixed(0)} KiB (DuckDB, one file)\n` +
    `sink start-up (encoder threads, Kafka connections, group join): ${fmt(one, 'startMs', 0)} ms\n`,
);
process.exit(0);
