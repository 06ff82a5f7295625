/**
 * Alert → webhook latency against the real local broker (test-profile stack) and a verifying receiver on loopback.
 *
 *   node --import tsx bench/webhooks.bench.ts [--rate 50] [--seconds 20] [--no-slow]
 *
 * Three runs at the same alert rate, alerts committed in transactions as an exactly-once loop does (what queued
 * while one transaction committed goes into the next):
 *  - baseline: a bare transactional produce → read_committed consume round trip of the same bytes;
 *  - kafka: an alert produced to `alerts` → `ticklake webhooks`' consumer and dispatcher → WebhookReceiver
 *    (signature checked), measured from just before the produce to the receiver's handler;
 *  - embedded: WebhookDispatcher.submit in the producing process → receiver (what embedding it in `ticklake alerts`
 *    would add after the alert's own transaction).
 * Each run has a second endpoint beside it that holds every request for 10 s (and times out at 5 s), to show a
 * slow endpoint does not move the healthy one. Prints p50/p90/p99/max in ms, throughput held and peak RSS.
 */
import { parseArgs } from 'node:util';
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import type { Alert } from '../core/schemas/alert.ts';
import { loadConfig } from '../infra/config.ts';
import { kafkaClient } from '../infra/clients.ts';
import { createLogger } from '../infra/logger.ts';
import { testStackProfile } from '../infra/stack/profile.ts';
import { ensureTopics, topicName } from '../streaming/topics.ts';
import { WebhookDispatcher, dispatcherSettings } from '../streaming/webhooks/dispatcher.ts';
import { createWebhookMetrics } from '../streaming/webhooks/metrics.ts';
import { WebhookReceiver } from '../streaming/webhooks/receiver.ts';
import { AlertConsumer } from '../streaming/webhooks/service.ts';
import { newSecret, secretKey } from '../streaming/webhooks/sign.ts';
import { KafkaDeliveryStore } from '../streaming/webhooks/state-store.ts';
import {
  createTopicReady,
  deleteByPrefix,
  joined as groupJoined,
  latencyLine,
  nowMs,
  paced as pacedAt,
} from './kafka-bench-util.ts';
import { peakRss, startRssSampler } from './support.ts';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '20' },
    'no-slow': { type: 'boolean', default: false },
  },
});
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const now = nowMs;
const log = createLogger({ bench: 'webhooks' }, 'error');
const SECRET = newSecret();
const env = { ...process.env, BENCH_SECRET: SECRET };
const prefix = `bench-wh-${Date.now().toString(36)}.`;

const samples = { kafka: [] as number[], embedded: [] as number[], baseline: [] as number[] };
let phase: 'kafka' | 'embedded' = 'kafka';
const receiver = new WebhookReceiver({
  secrets: [secretKey(SECRET)],
  toleranceSec: 300,
  seenCapacity: 1_000_000,
  print: () => {},
  onAlert: (a, _id, _at) => samples[phase].push(now() - a.emittedTs / 1000),
});
const port = await receiver.listen(0, '127.0.0.1');
const slow = createServer((_req, res) => setTimeout(() => res.end(), 10_000)).listen(0, '127.0.0.1');
await new Promise((r) => slow.once('listening', r));
const slowPort = (slow.address() as { port: number }).port;

const config = loadConfig({
  env: { ...env, TICKLAKE_TOPICS_PREFIX: prefix, TICKLAKE_TOPICS_PARTITIONS: '2' },
  profile: testStackProfile(),
  overrides: {
    webhooks: {
      endpoints: [
        { name: 'fast', url: `http://127.0.0.1:${port}/`, secretEnv: 'BENCH_SECRET' },
        ...(args['no-slow'] ? [] : [{ name: 'slow', url: `http://127.0.0.1:${slowPort}/`, secretEnv: 'BENCH_SECRET' }]),
      ],
      retryScheduleMs: [60_000],
    },
  },
});
const kafka = kafkaClient(config, 'bench-webhooks');
await ensureTopics(kafka, config);
const rss = startRssSampler();

const joined = (groupId: string) => groupJoined(kafka, groupId);

function alert(i: number): Alert {
  const t = now();
  return {
    v: 1,
    id: `bench:SYM${i % 50}:${Math.round(t * 1000)}:${i}`,
    rule: 'bench',
    symbol: `SYM${i % 50}`,
    severity: 'warning',
    ts: Math.round(t * 1000),
    windowStart: Math.round(t * 1000),
    value: 1,
    threshold: 1,
    message: 'bench',
    emittedTs: Math.round(t * 1000),
  };
}

const paced = (fn: (i: number) => Promise<void>) => pacedAt(RATE, SECONDS, fn);

/**
 * A transactional producer as an exactly-once loop uses one: whatever queued while the previous transaction was
 * committing goes into the next one.
 */
async function transactional(id: string) {
  const p = kafka.producer({ transactionalId: `${prefix}${id}`, idempotent: true, maxInFlightRequests: 1 });
  await p.connect();
  let queue: Array<{ topic: string; key: string; value: string; done: () => void }> = [];
  let busy = false;
  const pump = async () => {
    if (busy) return;
    busy = true;
    while (queue.length) {
      const batch = queue;
      queue = [];
      const txn = await p.transaction();
      const topic = batch[0]!.topic;
      await txn.send({ topic, messages: batch.map(({ key, value }) => ({ key, value })) });
      await txn.commit();
      for (const b of batch) b.done();
    }
    busy = false;
  };
  const send = (topic: string, key: string, value: string) =>
    new Promise<void>((done) => {
      queue.push({ topic, key, value, done });
      void pump();
    });
  return { send, close: () => p.disconnect() };
}

// Baseline: the same bytes through a transaction and a read_committed consumer, no webhook.
const baseTopic = topicName(config, 'alerts').replace(/alerts$/, 'bench-baseline');
{
  await createTopicReady(kafka, baseTopic, 2);
  const consumer = kafka.consumer({ groupId: `${prefix}baseline`, readUncommitted: false, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: baseTopic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const a = JSON.parse(message.value!.toString()) as Alert;
      samples.baseline.push(now() - a.emittedTs / 1000);
    },
  });
  await joined(`${prefix}baseline`);
  const prod = await transactional('baseline');
  const held = await paced((i) => prod.send(baseTopic, `SYM${i % 50}`, JSON.stringify(alert(i))));
  await sleep(2_000);
  await prod.close();
  await consumer.disconnect();
  report('baseline: transactional produce → read_committed consume', samples.baseline, held);
}

const store = new KafkaDeliveryStore(kafka, config, log);
const dispatcher = new WebhookDispatcher({
  settings: dispatcherSettings(config),
  store,
  metrics: createWebhookMetrics(new Registry()),
  log,
  env,
});
await dispatcher.start();
// The consume stage on its own: when each alert reaches the dispatcher (the rest is dispatch + HTTP).
const consumed: number[] = [];
const submit = dispatcher.submit.bind(dispatcher);
dispatcher.submit = (alerts) => {
  if (phase === 'kafka') for (const a of alerts) consumed.push(now() - a.emittedTs / 1000);
  return submit(alerts);
};
{
  const consumer = new AlertConsumer(kafka, config, dispatcher, log, (err) => {
    throw err;
  });
  await consumer.start();
  await joined(consumer.groupId);
  const prod = await transactional('alerts');
  const held = await paced((i) => prod.send(topicName(config, 'alerts'), `SYM${i % 50}`, JSON.stringify(alert(i))));
  await sleep(2_000);
  await prod.close();
  await consumer.stop();
  report('kafka: produce to alerts → ticklake webhooks → receiver', samples.kafka, held);
  report('  of which produce → consumed by ticklake webhooks', consumed, held);
}
{
  phase = 'embedded';
  const cpu0 = process.cpuUsage();
  const held = await paced((i) => dispatcher.submit([alert(i)]));
  await sleep(1_000);
  const cpu = process.cpuUsage(cpu0);
  report('embedded: WebhookDispatcher.submit → receiver', samples.embedded, held);
  // CPU is what a loaded machine cannot give: this process's CPU per delivery (dispatcher, state writes, receiver).
  process.stdout.write(
    `  CPU per delivery (both sides, this process): ${((cpu.user + cpu.system) / 1000 / Math.max(1, samples.embedded.length)).toFixed(2)} ms\n`,
  );
}
rss.stop();
process.stdout.write(
  `peak RSS ${Math.round(peakRss() / 1e6)} MB (this process: broker clients, dispatcher, receiver)\n`,
);
await dispatcher.stop();
await store.close();
await receiver.close();
slow.closeAllConnections();
slow.close();
await deleteByPrefix(kafka, prefix);
process.exit(0);

function report(title: string, xs: number[], held: number) {
  process.stdout.write(latencyLine(title, xs, held));
}
