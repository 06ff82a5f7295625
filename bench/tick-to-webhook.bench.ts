/**
 * Tick event → webhook received, end to end on the real local broker (test-profile stack):
 *
 *   node --import tsx bench/tick-to-webhook.bench.ts [--rate 20000] [--seconds 300] [--symbols 50] [--warmup 20]
 *     [--partitions 2] [--linger <ms>] [--baseline-rate 50]
 *
 * The synthetic source runs in this process at speed 1 (`ratePerSymbol` × `symbols` = --rate, flat intensity, start
 * now) through `runIngest` into ticks.raw; `ticklake alerts` runs as a child process with one webhook endpoint, a
 * verifying WebhookReceiver on loopback in this process. Spread blowouts are injected at a rate that makes ~40 alerts
 * a second (the spread rule's cooldown set to 0 in a copy of the shipped rules), since only alerts reach the webhook.
 *
 * Latency per delivered alert = receive time − the tick's scheduled release time. At speed 1 the source releases a
 * tick Δ after the first one when its event time is Δ after the first one's, so its event time (`ts`, which the
 * alert carries) plus one constant — the first record's release time minus its event time, measured here — is when
 * the tick was due. A source that falls behind its schedule under load counts against the latency, as it should.
 *
 * Alongside, in the same run and on its own topic, a bare kafkajs produce (acks=all, no linger) → consume round trip
 * at --baseline-rate: the ratio to it is what ticklake adds. Also printed: ticks/s produced and consumed by the
 * alerts group, its lag at the end, the alerts process's peak RSS and CPU, and this process's CPU.
 * Bounded: stops after warmup + seconds (plus a drain), kills the child and deletes its topics and groups on any exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Kafka } from 'kafkajs';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { loadConfig } from '../infra/config.ts';
import { kafkaClient } from '../infra/clients.ts';
import { createLogger } from '../infra/logger.ts';
import { testStackProfile } from '../infra/stack/profile.ts';
import { runIngest } from '../streaming/ingest.ts';
import { SOURCES } from '../streaming/sources/index.ts';
import type { SourceRecord } from '../streaming/sources/source.ts';
import { ensureTopics, topicName } from '../streaming/topics.ts';
import { WebhookReceiver } from '../streaming/webhooks/receiver.ts';
import { newSecret, secretKey } from '../streaming/webhooks/sign.ts';
import { createTopicReady, deleteByPrefix, joined, latencyLine, nowMs, quantile } from './kafka-bench-util.ts';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '300' },
    symbols: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '20' },
    partitions: { type: 'string', default: '2' },
    linger: { type: 'string' },
    'baseline-rate': { type: 'string', default: '50' },
  },
});
// As bin/ticklake.mjs does: the partitioner is the one we use, its v2 notice is noise here.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const SYMBOLS = Number(args.symbols);
const WARMUP = Number(args.warmup);
const BASE_RATE = Number(args['baseline-rate']);
const BIN = fileURLToPath(new URL('../bin/ticklake.mjs', import.meta.url));
const SHIPPED_RULES = fileURLToPath(new URL('../infra/alerts/rules.yaml', import.meta.url));
// ~40 blowouts a second over the whole universe, capped so a symbol's spread baseline is not mostly blowouts.
const BLOWOUT_RATE = Math.min(0.02, 40 / RATE);

const prefix = `bench-t2w-${Date.now().toString(36)}.`;
const SECRET = newSecret();
const metricsPort = await freePort();
const env: NodeJS.ProcessEnv = {
  ...process.env,
  BENCH_T2W_SECRET: SECRET,
  TICKLAKE_TOPICS_PREFIX: prefix,
  TICKLAKE_TOPICS_PARTITIONS: args.partitions,
  TICKLAKE_ALERTS_GROUP_ID: `${prefix}alerts`,
  TICKLAKE_METRICS_PORT: String(metricsPort),
  TICKLAKE_LOG_LEVEL: 'warn',
  KAFKAJS_NO_PARTITIONER_WARNING: '1',
  ...(args.linger !== undefined ? { TICKLAKE_PRODUCER_LINGER_MS: args.linger } : {}),
};
const config = loadConfig({ env, profile: testStackProfile() });
const kafka = kafkaClient(config, 'bench-t2w');
const log = createLogger({ bench: 'tick-to-webhook' }, 'warn');
const work = mkdtempSync(join(tmpdir(), 'ticklake-t2w-'));

let child: ChildProcess | undefined;
let receiver: WebhookReceiver | undefined;
let cleaned = false;
async function cleanup(): Promise<void> {
  if (cleaned) return;
  cleaned = true;
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    const exited = new Promise((r) => child!.once('exit', r));
    if ((await Promise.race([exited, sleep(15_000, 'timeout')])) === 'timeout') child.kill('SIGKILL');
  }
  await receiver?.close().catch(() => {});
  await deleteByPrefix(kafka, prefix).catch((e: Error) => process.stderr.write(`cleanup: ${e.message}\n`));
  rmSync(work, { recursive: true, force: true });
}
// Whatever happens, the run ends: a hard deadline well past its planned length.
const deadline = setTimeout(
  () => {
    process.stderr.write('tick-to-webhook: past its deadline, stopping\n');
    void cleanup().finally(() => process.exit(2));
  },
  (WARMUP + SECONDS + 180) * 1000,
);
deadline.unref();
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => void cleanup().finally(() => process.exit(130)));

try {
  await main();
  await cleanup();
  process.exit(0);
} catch (err) {
  process.stderr.write(`tick-to-webhook failed: ${(err as Error).stack ?? String(err)}\n`);
  await cleanup();
  process.exit(1);
}

async function main(): Promise<void> {
  await ensureTopics(kafka, config);

  // Where the clock stands: the tick's scheduled release = ts/1000 + offsetMs (file comment).
  let offsetMs: number | undefined;
  let measuring = false;
  const latency: number[] = [];
  // The two stages, split at the alert's emittedTs (wall time in the alerts process when the rule fired).
  const toEvaluated: number[] = [];
  const evaluatedToReceived: number[] = [];
  let deliveredAll = 0;
  receiver = new WebhookReceiver({
    secrets: [secretKey(SECRET)],
    toleranceSec: 300,
    seenCapacity: 1_000_000,
    print: () => {},
    onAlert: (a, _id, at) => {
      deliveredAll++;
      if (!measuring || offsetMs === undefined) return;
      const due = a.ts / 1000 + offsetMs;
      latency.push(at - due);
      toEvaluated.push(a.emittedTs / 1000 - due);
      evaluatedToReceived.push(at - a.emittedTs / 1000);
    },
  });
  const port = await receiver.listen(0, '127.0.0.1');

  // The shipped rules, the spread rule without cooldown so each injected blowout is one alert.
  const rules = parseYaml(readFileSync(SHIPPED_RULES, 'utf8')) as { rules: Array<Record<string, unknown>> };
  for (const r of rules.rules) if (r.kind === 'spread_blowout') r.cooldownSec = 0;
  const rulesFile = join(work, 'rules.yaml');
  writeFileSync(rulesFile, toYaml(rules));

  child = spawn(
    process.execPath,
    [BIN, '--profile', 'test', 'alerts', '--instance', `${prefix}a`, '--rules', rulesFile],
    {
      env: {
        ...env,
        TICKLAKE_WEBHOOKS_ENDPOINTS: JSON.stringify([
          { name: 'bench', url: `http://127.0.0.1:${port}/`, secretEnv: 'BENCH_T2W_SECRET' },
        ]),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(`[alerts] ${d.toString()}`));
  const childExit = new Promise<never>((_, reject) =>
    child!.once('exit', (code) => reject(new Error(`ticklake alerts exited with ${code}`))),
  );
  childExit.catch(() => {});
  await Promise.race([joined(kafka, `${prefix}alerts`), childExit]);
  const alertsPid = child.pid!;

  // Baseline: bare produce → consume on its own topic, the same broker at the same moment.
  const baseTopic = `${prefix}baseline`;
  await createTopicReady(kafka, baseTopic, 2);
  const baseline: number[] = [];
  const baseConsumer = kafka.consumer({ groupId: `${prefix}baseline`, maxWaitTimeInMs: 100 });
  await baseConsumer.connect();
  await baseConsumer.subscribe({ topic: baseTopic, fromBeginning: true });
  await baseConsumer.run({
    eachMessage: async ({ message }) => {
      const sent = Number(message.value!.toString());
      if (measuring) baseline.push(nowMs() - sent);
    },
  });
  await joined(kafka, `${prefix}baseline`);
  const baseProducer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await baseProducer.connect();

  // The source, wrapped to see each batch leave: the first fixes the offset, later ones show how far behind it runs.
  const created = SOURCES.synthetic!({
    source: 'bench',
    symbols: SYMBOLS,
    ratePerSymbol: RATE / SYMBOLS,
    speed: 1,
    start: 'now',
    tradingHours: false,
    referenceFile: null,
    anomalies: { spreadBlowout: { rate: BLOWOUT_RATE } },
  });
  let produced = 0;
  const behind: number[] = [];
  const inner = created.source;
  const source = {
    ...inner,
    close: () => inner.close(),
    async *batches(signal: AbortSignal): AsyncGenerator<SourceRecord[]> {
      for await (const batch of inner.batches(signal)) {
        const ts = eventTs(batch[batch.length - 1]!.value);
        if (ts !== undefined) {
          const lateMs = nowMs() - ts / 1000;
          if (offsetMs === undefined) offsetMs = nowMs() - (eventTs(batch[0]!.value) ?? ts) / 1000;
          else if (measuring) behind.push(lateMs - offsetMs);
        }
        if (measuring) produced += batch.length;
        yield batch;
      }
    },
  };
  const stop = new AbortController();
  const ingest = runIngest({
    config,
    kafka,
    created: { ...created, source },
    sourceName: 'bench',
    log,
    signal: stop.signal,
  });
  ingest.catch(() => {});

  const cpu = cpuSampler(alertsPid);
  process.stdout.write(
    `tick → webhook: ${RATE} ticks/s target (${SYMBOLS} symbols × ${(RATE / SYMBOLS).toFixed(1)}), ${SECONDS} s after ` +
      `${WARMUP} s warm-up, ${args.partitions} partitions, producer linger ${config.producer.lingerMs} ms, ` +
      `spread blowouts ${BLOWOUT_RATE} per tick; load ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}\n`,
  );
  await Promise.race([sleep(WARMUP * 1000), childExit, ingest]);

  // The measured window.
  measuring = true;
  const t0 = nowMs();
  const committed0 = await committedOffsets(kafka, `${prefix}alerts`, topicName(config, 'raw'));
  cpu.reset();
  const selfCpu0 = process.cpuUsage();
  const baseStop = new AbortController();
  let baseSeq = 0;
  const baseRun = (async () => {
    const start = nowMs();
    for (let i = 0; !baseStop.signal.aborted; i++) {
      const wait = start + (i * 1000) / BASE_RATE - nowMs();
      if (wait > 0) await sleep(wait);
      baseSeq++;
      void baseProducer
        .send({ topic: baseTopic, acks: -1, messages: [{ key: `k${i % 50}`, value: String(nowMs()) }] })
        .catch(() => {});
    }
  })();
  let lastLine = t0;
  let marks = { latency: 0, baseline: 0 };
  for (let elapsed = 0; elapsed < SECONDS * 1000; elapsed = nowMs() - t0) {
    await Promise.race([sleep(Math.min(1000, SECONDS * 1000 - elapsed)), childExit, ingest]);
    if (nowMs() - lastLine >= 30_000) {
      // Each 30 s on its own, so a stall shows where it was and whether the baseline had it too.
      lastLine = nowMs();
      const part = (xs: number[], from: number) => sortedOf(xs.slice(from));
      const [l, b] = [part(latency, marks.latency), part(baseline, marks.baseline)];
      process.stdout.write(
        `  ${Math.round((lastLine - t0) / 1000)} s: ${produced} ticks, ${latency.length} alerts; last 30 s p50/p99 ` +
          `${quantile(l, 0.5).toFixed(1)}/${quantile(l, 0.99).toFixed(1)} ms, baseline ` +
          `${quantile(b, 0.5).toFixed(1)}/${quantile(b, 0.99).toFixed(1)} ms; alerts RSS ` +
          `${Math.round(cpu.peakRss() / 1e6)} MB, CPU ${(cpu.cores() * 100).toFixed(0)} %\n`,
      );
      marks = { latency: latency.length, baseline: baseline.length };
    }
  }
  const window = (nowMs() - t0) / 1000;
  measuring = false;
  const selfCpu = process.cpuUsage(selfCpu0);
  const alertsCores = cpu.cores();
  const committed1 = await committedOffsets(kafka, `${prefix}alerts`, topicName(config, 'raw'));
  const high = await highWatermarks(kafka, topicName(config, 'raw'));
  const lagAtEnd = sum(high) - sum(committed1);
  baseStop.abort();
  await baseRun;
  stop.abort();
  await ingest;
  await sleep(2_000);
  await baseProducer.disconnect();
  await baseConsumer.disconnect();

  const consumedPerSec = (sum(committed1) - sum(committed0)) / window;
  const sorted = [...latency].sort((a, b) => a - b);
  const baseSorted = [...baseline].sort((a, b) => a - b);
  const out = (s: string) => process.stdout.write(s);
  out(
    latencyLine(
      'tick → webhook received (ticklake alerts, embedded dispatcher)',
      latency,
      latency.length / window,
      true,
    ),
  );
  out(
    latencyLine('  of which tick due → rule fired in ticklake alerts', toEvaluated, toEvaluated.length / window, true),
  );
  out(latencyLine('  of which rule fired → webhook received', evaluatedToReceived, latency.length / window, true));
  out(latencyLine('baseline: bare produce → consume, own topic', baseline, baseline.length / window, true));
  out(`  (${baseSeq} baseline records sent, ${baseline.length} received in the window)\n`);
  out(
    `ratio to baseline: p50 ${(quantile(sorted, 0.5) / quantile(baseSorted, 0.5)).toFixed(2)}, ` +
      `p99 ${(quantile(sorted, 0.99) / quantile(baseSorted, 0.99)).toFixed(2)}\n`,
  );
  out(
    `source behind its schedule (per batch): p50 ${quantile(sortedOf(behind), 0.5).toFixed(1)} ms, ` +
      `p99 ${quantile(sortedOf(behind), 0.99).toFixed(1)}, max ${(sortedOf(behind).at(-1) ?? NaN).toFixed(1)}; ` +
      `offset event → wall ${offsetMs?.toFixed(1)} ms\n`,
  );
  out(
    `throughput: produced ${Math.round(produced / window)} ticks/s, consumed by the alerts group ` +
      `${Math.round(consumedPerSec)} ticks/s (committed offsets), its lag at the end ${lagAtEnd} records; ` +
      `${deliveredAll} alerts delivered in all\n`,
  );
  out(
    `alerts process: peak RSS ${Math.round(cpu.peakRss() / 1e6)} MB, CPU ${(alertsCores * 100).toFixed(0)} % of a core; ` +
      `this process (source, ingest producer, receiver, baseline): CPU ` +
      `${(((selfCpu.user + selfCpu.system) / 1e6 / window) * 100).toFixed(0)} %; load ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}\n`,
  );
  cpu.stop();
}

function eventTs(value: SourceRecord['value']): number | undefined {
  const text = typeof value === 'string' ? value.slice(0, 400) : Buffer.from(value).subarray(0, 400).toString('utf8');
  const m = /"ts":(\d{13,16})/.exec(text);
  return m ? Number(m[1]) : undefined;
}

function sortedOf(xs: number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

async function committedOffsets(kafka: Kafka, groupId: string, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (t?.partitions ?? []).map((p) => Math.max(0, Number(p.offset)));
  } finally {
    await admin.disconnect();
  }
}

async function highWatermarks(kafka: Kafka, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).map((p) => Number(p.high));
  } finally {
    await admin.disconnect();
  }
}

/** The child's RSS (VmRSS) and CPU (utime + stime) from /proc, every 200 ms. */
function cpuSampler(pid: number) {
  const tick = 100; // USER_HZ on Linux
  let peak = 0;
  const cpuTicks = () => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  const sample = () => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch {
      // The child is gone; its exit is reported elsewhere.
    }
  };
  let start = { ticks: cpuTicks(), at: nowMs() };
  const timer = setInterval(sample, 200);
  timer.unref();
  return {
    peakRss: () => peak,
    reset: () => {
      start = { ticks: cpuTicks(), at: nowMs() };
    },
    /** Cores used since the last reset. */
    cores: () => (cpuTicks() - start.ticks) / tick / ((nowMs() - start.at) / 1000),
    stop: () => clearInterval(timer),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}
