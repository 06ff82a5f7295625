/**
 * Stream latency by stage: the real ingest (synthetic source, paced in real time) → `ticks.raw` → the real
 * processor → `ticks.enriched` / `bars.1m`, watched by read_uncommitted and read_committed consumers, on the
 * test-profile stack (ports + 10000).
 *
 *   node --import tsx bench/latency.bench.ts [--rates 100,5000,20000] [--seconds 30] [--baseline <git ref>]
 *
 * With `--baseline <ref>` every rate runs twice in the same run: first with the ingest, producer, processor and
 * config of `ref` (extracted with `git archive` under reports/bench/, removed afterwards), then with this tree's.
 * Both are watched by this tree's observers, so only the pipeline differs.
 *
 * Per sampled tick, the stages (ms, wall clock of this machine; event times are the source's µs):
 *   event → recv          the synthetic feed's own latency model (recvTs − ts)
 *   recv → released       the source's pacing: when its batch left `batches()` (event time runs on the wall clock)
 *   released → sent       producer buffering and linger: the record's CreateTime on ticks.raw (set at send)
 *   sent → raw visible    produce round trip (acks=all) until a read_uncommitted consumer has it
 *   raw visible → fetch   the processor's fetch: the enriched tick's processedTs
 *   fetch → produced      the processor's batch work: the enriched record's CreateTime (inside the transaction)
 *   produced → appended   until a read_uncommitted consumer of ticks.enriched has it
 *   appended → committed  the transaction's commit: until a read_committed consumer has it
 * and the totals recv → committed and processedTs → committed (the part "after the processor produced it").
 * Bars: windowEnd → visible to read_committed (includes the watermark's out-of-orderness wait by design).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Consumer, Kafka } from 'kafkajs';
import { loadConfig } from '../infra/config.ts';
import { kafkaClient } from '../infra/clients.ts';
import { createLogger } from '../infra/logger.ts';
import { testStackProfile } from '../infra/stack/profile.ts';
import type { loadShippedReference } from '../infra/reference-file.ts';
import type { runIngest } from '../streaming/ingest.ts';
import type { StreamProcessor } from '../streaming/processor/processor.ts';
import type { ReferenceCache } from '../streaming/reference-cache.ts';
import type { createSyntheticSource } from '../streaming/sources/synthetic/source.ts';
import { ensureTopics, topicName } from '../streaming/topics.ts';
import type { SourceRecord } from '../streaming/sources/source.ts';
import { peakRss, startRssSampler } from './support.ts';

const { values: args } = parseArgs({
  options: {
    rates: { type: 'string', default: '100,5000,20000' },
    seconds: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    baseline: { type: 'string' },
    // Extra runs of this tree with settings changed, e.g. --variant 'serial:processor.concurrentPartitions=1'.
    variant: { type: 'string', multiple: true, default: [] },
    repeat: { type: 'string', default: '1' },
  },
});
const REPEAT = Number(args.repeat);
const RATES = args.rates.split(',').map(Number);
const SECONDS = Number(args.seconds);
const WARMUP_MS = Number(args.warmup) * 1000;
const SYMBOLS = 50;
const log = createLogger({ bench: 'latency' }, 'error');
const repo = fileURLToPath(new URL('../', import.meta.url));

/** The pipeline's modules, from this tree or from an extracted baseline tree. */
interface Impl {
  label: string;
  overrides?: Record<string, Record<string, unknown>>;
  loadConfig: typeof loadConfig;
  kafkaClient: typeof kafkaClient;
  runIngest: typeof runIngest;
  StreamProcessor: typeof StreamProcessor;
  ReferenceCache: typeof ReferenceCache;
  createSyntheticSource: typeof createSyntheticSource;
  loadShippedReference: typeof loadShippedReference;
  testStackProfile: typeof testStackProfile;
}

async function loadImpl(root: string, label: string): Promise<Impl> {
  const mod = (p: string) => import(pathToFileURL(root + p).href);
  return {
    label,
    loadConfig: (await mod('infra/config.ts')).loadConfig,
    kafkaClient: (await mod('infra/clients.ts')).kafkaClient,
    runIngest: (await mod('streaming/ingest.ts')).runIngest,
    StreamProcessor: (await mod('streaming/processor/processor.ts')).StreamProcessor,
    ReferenceCache: (await mod('streaming/reference-cache.ts')).ReferenceCache,
    createSyntheticSource: (await mod('streaming/sources/synthetic/source.ts')).createSyntheticSource,
    loadShippedReference: (await mod('infra/reference-file.ts')).loadShippedReference,
    testStackProfile: (await mod('infra/stack/profile.ts')).testStackProfile,
  };
}

/** `ref`'s runtime code under reports/bench/ (node_modules resolve from the repo root above it). */
function extractBaseline(ref: string): { root: string; sha: string } {
  const sha = execFileSync('git', ['rev-parse', '--short', ref], { cwd: repo, encoding: 'utf8' }).trim();
  const root = `${repo}reports/bench/latency-baseline-${sha}/`;
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const tar = execFileSync(
    'git',
    [
      'archive',
      ref,
      'core',
      'infra',
      'streaming',
      'lake',
      'warehouse',
      'activities',
      'workflows',
      'reference',
      'package.json',
    ],
    {
      cwd: repo,
      maxBuffer: 256 << 20,
    },
  );
  execFileSync('tar', ['-x', '-C', root], { input: tar });
  return { root, sha };
}

const nowMs = () => performance.timeOrigin + performance.now();
const ID = /"id":"([^"]+)"/;
const PROCESSED = /"processedTs":(\d+)/;
const WINDOW_END = /"windowEnd":(\d+)/;

interface Sample {
  ts: number; // µs
  recv: number; // µs
  released: number; // ms
  sent?: number;
  rawSeen?: number;
  fetched?: number;
  produced?: number;
  appended?: number;
  committed?: number;
}

/** A consumer that calls `seen` once per fetched batch with the arrival time. */
async function observe(
  kafka: Kafka,
  topic: string,
  groupId: string,
  readUncommitted: boolean,
  seen: (value: string, timestampMs: number, at: number) => void,
): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId, readUncommitted, maxWaitTimeInMs: 100, sessionTimeout: 10_000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const at = nowMs();
      for (const m of batch.messages) if (m.value) seen(m.value.toString('utf8'), Number(m.timestamp), at);
    },
  });
  return consumer;
}

interface RunResult {
  impl: string;
  rate: number;
  achieved: number;
  samples: Sample[];
  bars: number[];
}

async function runOnce(impl: Impl, rate: number, index: number): Promise<RunResult> {
  const prefix = `bench-lat-${Date.now()}-${index}.`;
  const config = impl.loadConfig({
    profile: impl.testStackProfile(),
    overrides: {
      ...impl.overrides,
      topics: { prefix, partitions: 6 },
      processor: { ...impl.overrides?.processor, groupId: `${prefix}processor` },
    },
  });
  // Observers use this tree's client and topic names (the names are the same in both trees).
  const watchKafka = kafkaClient(loadConfig({ profile: testStackProfile() }), 'latency-observer');
  const admin = watchKafka.admin();
  await admin.connect();
  await ensureTopics(watchKafka, config);

  const samples = new Map<string, Sample>();
  const bars: number[] = [];
  const every = Math.max(1, Math.round(rate / 200));
  let released = 0;
  const t0 = nowMs();
  const observers = await Promise.all([
    observe(watchKafka, topicName(config, 'raw'), `${prefix}obs-raw`, true, (v, ts, at) => {
      const s = samples.get(ID.exec(v.slice(0, 200))?.[1] ?? '');
      if (s && s.rawSeen === undefined) {
        s.sent = ts;
        s.rawSeen = at;
      }
    }),
    observe(watchKafka, topicName(config, 'enriched'), `${prefix}obs-enr-u`, true, (v, ts, at) => {
      const s = samples.get(ID.exec(v.slice(0, 200))?.[1] ?? '');
      if (s && s.appended === undefined) {
        s.appended = at;
        s.produced = ts;
        s.fetched = Number(PROCESSED.exec(v)?.[1]) / 1000;
      }
    }),
    observe(watchKafka, topicName(config, 'enriched'), `${prefix}obs-enr-c`, false, (v, _ts, at) => {
      const s = samples.get(ID.exec(v.slice(0, 200))?.[1] ?? '');
      if (s && s.committed === undefined) s.committed = at;
    }),
    observe(watchKafka, topicName(config, 'bars'), `${prefix}obs-bars-c`, false, (v, _ts, at) => {
      const end = Number(WINDOW_END.exec(v)?.[1]) / 1000;
      if (end > t0 + WARMUP_MS) bars.push(at - end);
    }),
  ]);

  const kafka = impl.kafkaClient(config);
  const reference = new impl.ReferenceCache(
    kafka,
    topicName(config, 'referenceSymbols'),
    impl.loadShippedReference(),
    log,
  );
  await reference.start();
  const processor = new impl.StreamProcessor({ config, kafka, reference, log, instanceId: 'latency' });
  await processor.start();
  await sleep(2000); // group joins of the processor and the observers

  const source = impl.createSyntheticSource({
    seed: 11 + index,
    symbols: SYMBOLS,
    speed: 1,
    start: 'now',
    tradingHours: false,
    ratePerSymbol: rate / SYMBOLS,
  });
  const sourceStart = nowMs();
  // Time each record as it leaves the source, for a sample of them (every `every`-th).
  const timed = {
    ...source,
    async *batches(signal: AbortSignal): AsyncIterable<SourceRecord[]> {
      for await (const batch of source.batches(signal)) {
        const at = nowMs();
        for (const r of batch) {
          if (released++ % every !== 0 || at - sourceStart < WARMUP_MS) continue;
          const tick = JSON.parse(typeof r.value === 'string' ? r.value : r.value.toString('utf8'));
          samples.set(tick.id, { ts: tick.ts, recv: tick.recvTs, released: at });
        }
        yield batch;
      }
    },
  };
  const abort = new AbortController();
  const ingest = impl.runIngest({
    config,
    kafka,
    created: { source: timed, universe: source.universe },
    sourceName: 'synthetic',
    log,
    signal: abort.signal,
  });
  await sleep(SECONDS * 1000);
  abort.abort();
  const result = await ingest;
  // Let the last ticks through.
  for (let i = 0; i < 100 && [...samples.values()].some((s) => s.committed === undefined); i++) await sleep(100);
  await processor.stop();
  await reference.stop();
  await Promise.all(observers.map((c) => c.disconnect()));
  const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  await admin.deleteTopics({ topics: mine }).catch(() => {});
  await admin.disconnect();
  return { impl: impl.label, rate, achieved: result.records / result.seconds, samples: [...samples.values()], bars };
}

function pct(values: number[], q: number): number {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return Number.NaN;
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

const STAGES: Array<[string, (s: Sample) => number]> = [
  ['event → recv', (s) => (s.recv - s.ts) / 1000],
  ['recv → released (pacing)', (s) => s.released - s.recv / 1000],
  ['released → sent (producer buffer)', (s) => s.sent! - s.released],
  ['sent → raw visible (produce ack)', (s) => s.rawSeen! - s.sent!],
  ['raw visible → processor fetch', (s) => s.fetched! - s.rawSeen!],
  ['fetch → produced (batch work)', (s) => s.produced! - s.fetched!],
  ['produced → appended', (s) => s.appended! - s.produced!],
  ['appended → committed (txn commit)', (s) => s.committed! - s.appended!],
  ['**recv → visible read_committed**', (s) => s.committed! - s.recv / 1000],
  ['processedTs → visible read_committed', (s) => s.committed! - s.fetched!],
];

function report(results: RunResult[], impls: Impl[]): void {
  const f = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 1 : 0) : '–');
  for (const rate of RATES) {
    const runs = impls.map((impl): RunResult => {
      const mine = results.filter((r) => r.rate === rate && r.impl === impl.label);
      return {
        impl: impl.label,
        rate,
        achieved: mine.reduce((a, r) => a + r.achieved, 0) / mine.length,
        samples: mine.flatMap((r) => r.samples),
        bars: mine.flatMap((r) => r.bars),
      };
    });
    const held = runs.map((r) => `${r.impl} ${Math.round(r.achieved)} ticks/s`).join(', ');
    process.stdout.write(`\n### ${rate} ticks/s offered (held: ${held})\n\n`);
    process.stdout.write(
      `| stage (ms) | ${runs.map((r) => `${r.impl} p50 | p90 | p99`).join(' | ')} |\n|---|${runs.map(() => '---:|---:|---:').join('|')}|\n`,
    );
    for (const [name, fn] of STAGES) {
      const cells = runs.map((r) => {
        const v = r.samples.filter((s) => s.committed !== undefined).map(fn);
        return `${f(pct(v, 0.5))} | ${f(pct(v, 0.9))} | ${f(pct(v, 0.99))}`;
      });
      process.stdout.write(`| ${name} | ${cells.join(' | ')} |\n`);
    }
    const barCells = runs.map((r) => `${f(pct(r.bars, 0.5))} | ${f(pct(r.bars, 0.9))} | ${f(pct(r.bars, 0.99))}`);
    process.stdout.write(`| bar windowEnd → visible read_committed | ${barCells.join(' | ')} |\n`);
    const counts = runs
      .map((r) => {
        const done = r.samples.filter((s) => s.committed !== undefined).length;
        return `${r.impl}: ${done}/${r.samples.length} sampled ticks seen committed, ${r.bars.length} bars`;
      })
      .join('; ');
    process.stdout.write(`\n${counts}\n`);
  }
}

async function main(): Promise<void> {
  const sampler = startRssSampler();
  const impls: Impl[] = [];
  let baselineRoot: string | undefined;
  if (args.baseline) {
    const { root, sha } = extractBaseline(args.baseline);
    baselineRoot = root;
    impls.push(await loadImpl(root, `baseline ${sha}`));
  }
  impls.push(await loadImpl(repo, 'this tree'));
  for (const v of args.variant) {
    const [label, ...sets] = v.split(':');
    const overrides: Record<string, Record<string, unknown>> = {};
    for (const kv of sets.join(':').split(',')) {
      const [path, value] = kv.split('=');
      const [section, key] = path!.split('.');
      (overrides[section!] ??= {})[key!] = value;
    }
    impls.push({ ...(await loadImpl(repo, label!)), overrides });
  }
  const results: RunResult[] = [];
  try {
    let i = 0;
    // Interleaved, so load from others on this shared machine falls on every variant alike.
    for (const rate of RATES) {
      for (let r = 0; r < REPEAT; r++) {
        for (const impl of impls) {
          process.stderr.write(`${impl.label}: ${rate} ticks/s for ${SECONDS} s (${r + 1}/${REPEAT})\n`);
          results.push(await runOnce(impl, rate, i++));
        }
      }
    }
  } finally {
    if (baselineRoot) rmSync(baselineRoot, { recursive: true, force: true });
  }
  sampler.stop();
  process.stdout.write(
    `stream latency by stage: ${SYMBOLS} symbols, ${REPEAT}× ${SECONDS} s per rate and variant (interleaved) ` +
      `after ${WARMUP_MS / 1000} s warm-up each; percentiles over the pooled samples\n`,
  );
  report(results, impls);
  process.stdout.write(`\npeak RSS of the benchmark process: ${(peakRss() / 1024 / 1024).toFixed(0)} MiB\n`);
  process.exit(0);
}

await main();
