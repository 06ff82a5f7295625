/**
 * Producer and processor throughput against the real local broker (the test-profile stack, ports + 10000).
 *
 *   node --import tsx bench/stream.bench.ts [--ticks 300000] [--runs 3]
 *
 * Each measurement runs next to a baseline in the same run, because this machine is shared and noisy:
 *  - producer: TickProducer (idempotent, acks=all, bounded buffer) vs a bare kafkajs `send` loop of the same records;
 *  - processor: StreamProcessor (validate, dedupe, enrich, bars, one transaction per batch) vs a bare kafkajs
 *    consume-and-produce loop that forwards every record without processing or transactions;
 *  - both vs Kafka's own perf tools (kafka-producer-perf-test / kafka-consumer-perf-test from the broker's jars),
 *    the broker's ceiling on this machine; and the time a fresh processor takes to its first committed batch.
 * Prints medians, the ratio to the baseline, and peak RSS of this process.
 */
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Config } from '../core/config.ts';
import { loadConfig } from '../infra/config.ts';
import { createLogger } from '../infra/logger.ts';
import { loadShippedReference } from '../infra/reference-file.ts';
import { kafkaClient } from '../infra/clients.ts';
import { testStackProfile } from '../infra/stack/profile.ts';
import { TickProducer } from '../streaming/producer.ts';
import { StreamProcessor } from '../streaming/processor/processor.ts';
import { ReferenceCache, publishReference } from '../streaming/reference-cache.ts';
import type { SourceRecord } from '../streaming/sources/source.ts';
import { createSyntheticSource } from '../streaming/sources/synthetic/source.ts';
import { ensureTopics, topicName } from '../streaming/topics.ts';
import { javaConsume, javaProduce, kafkaToolsClasspath } from './kafka-clients/java.ts';
import { median, peakRss, printTable, startRssSampler } from './support.ts';

const { values: args } = parseArgs({
  options: { ticks: { type: 'string', default: '300000' }, runs: { type: 'string', default: '3' } },
});
const TICKS = Number(args.ticks);
const RUNS = Number(args.runs);
const log = createLogger({ bench: 'stream' }, 'error');

async function generate(): Promise<{
  records: SourceRecord[];
  universe: ReturnType<typeof createSyntheticSource>['universe'];
}> {
  const source = createSyntheticSource({
    seed: 5,
    symbols: 50,
    maxTicks: TICKS,
    speed: 0,
    start: '2026-11-20T14:30:00Z',
    batchSize: 5000,
  });
  const records: SourceRecord[] = [];
  for await (const batch of source.batches(new AbortController().signal)) records.push(...batch);
  await source.close();
  return { records, universe: source.universe };
}

function configFor(prefix: string, groupId = `${prefix}processor`): Config {
  return loadConfig({
    profile: testStackProfile(),
    overrides: { topics: { prefix, partitions: 6 }, processor: { groupId } },
  });
}

async function withTopics(config: Config): Promise<void> {
  // ensureTopics retries: a broker busy deleting the previous run's topics may not have the new leaders at once.
  await ensureTopics(kafkaClient(config), config);
}

async function dropTopics(prefix: string, config: Config): Promise<void> {
  const admin = kafkaClient(config).admin();
  await admin.connect();
  const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  await admin.deleteTopics({ topics: mine }).catch(() => {});
  await admin.disconnect();
}

async function benchTickProducer(records: SourceRecord[], config: Config): Promise<number> {
  const producer = new TickProducer(kafkaClient(config), { topic: topicName(config, 'raw'), ...config.producer, log });
  await producer.connect();
  const started = performance.now();
  for (let i = 0; i < records.length; i += 5000) await producer.send(records.slice(i, i + 5000));
  await producer.flush();
  const secs = (performance.now() - started) / 1000;
  await producer.close();
  return records.length / secs;
}

async function benchBareProducer(records: SourceRecord[], config: Config): Promise<number> {
  const producer = kafkaClient(config).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const started = performance.now();
  for (let i = 0; i < records.length; i += config.producer.batchSize) {
    await producer.send({
      topic: topicName(config, 'raw'),
      acks: -1,
      messages: records.slice(i, i + config.producer.batchSize),
    });
  }
  const secs = (performance.now() - started) / 1000;
  await producer.disconnect();
  return records.length / secs;
}

async function waitCommitted(config: Config, groupId: string, topic: string, total: number): Promise<void> {
  const admin = kafkaClient(config).admin();
  await admin.connect();
  try {
    for (;;) {
      const [g] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const sum = (g?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
      if (sum >= total) return;
      await sleep(50);
    }
  } finally {
    await admin.disconnect();
  }
}

/** Wall time from `start()` until the group has committed anything: how long a fresh processor takes to consume. */
async function firstCommit(config: Config, groupId: string, topic: string): Promise<number> {
  const started = performance.now();
  await waitCommitted(config, groupId, topic, 1);
  return (performance.now() - started) / 1000;
}

async function benchProcessor(
  config: Config,
  total: number,
  universe: Parameters<typeof publishReference>[2],
): Promise<{ rate: number; startSecs: number }> {
  const kafka = kafkaClient(config);
  const refProducer = kafka.producer();
  await refProducer.connect();
  await publishReference(refProducer, topicName(config, 'referenceSymbols'), universe);
  await refProducer.disconnect();
  const reference = new ReferenceCache(kafka, topicName(config, 'referenceSymbols'), loadShippedReference(), log);
  await reference.start();
  const processor = new StreamProcessor({ config, kafka, reference, log, instanceId: 'bench' });
  const started = performance.now();
  const first = firstCommit(config, config.processor.groupId, topicName(config, 'raw'));
  await processor.start();
  await waitCommitted(config, config.processor.groupId, topicName(config, 'raw'), total);
  const secs = (performance.now() - started) / 1000;
  const startSecs = await first;
  await processor.stop();
  await reference.stop();
  return { rate: total / secs, startSecs };
}

/** The floor: forward every record to another topic, no parsing, no transactions. */
async function benchBareLoop(config: Config, total: number): Promise<number> {
  const kafka = kafkaClient(config);
  const groupId = `${config.processor.groupId}-bare`;
  const consumer = kafka.consumer({ groupId, maxBytesPerPartition: 4 << 20, maxBytes: 16 << 20, maxWaitTimeInMs: 100 });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await Promise.all([consumer.connect(), producer.connect()]);
  await consumer.subscribe({ topic: topicName(config, 'raw'), fromBeginning: true });
  const started = performance.now();
  let seen = 0;
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        await producer.send({
          topic: topicName(config, 'enriched'),
          acks: -1,
          messages: batch.messages.map((m) => ({ key: m.key, value: m.value })),
        });
        seen += batch.messages.length;
        if (seen >= total) resolve();
      },
    });
  });
  await done;
  const secs = (performance.now() - started) / 1000;
  await consumer.disconnect();
  await producer.disconnect();
  return total / secs;
}

async function main(): Promise<void> {
  const sampler = startRssSampler();
  const { records, universe } = await generate();
  process.stderr.write(`generated ${records.length} ticks\n`);
  const producerRates: number[] = [];
  const bareProducerRates: number[] = [];
  const javaProducerRates: number[] = [];
  const javaConsumerRates: number[] = [];
  const processorRates: number[] = [];
  const processorStarts: number[] = [];
  const bareLoopRates: number[] = [];
  // Kafka's own perf tools from the jars the broker runs: the broker's ceiling on this machine, in the same run.
  const base = configFor('bench-');
  const cp = await kafkaToolsClasspath(base, (l) => process.stderr.write(`[kafka-tools] ${l}\n`));
  const brokers = base.kafka.brokers.join(',');
  for (let run = 0; run < RUNS; run++) {
    const prefix = `bench-${Date.now()}-${run}.`;
    const config = configFor(prefix);
    await withTopics(config);
    bareProducerRates.push(await benchBareProducer(records, config));
    // The TickProducer run fills a second copy of the input; the processor then reads only the first copy's size.
    await dropTopics(prefix, config);
    await withTopics(config);
    producerRates.push(await benchTickProducer(records, config));
    const proc = await benchProcessor(config, records.length, universe);
    processorRates.push(proc.rate);
    processorStarts.push(proc.startSecs);
    bareLoopRates.push(await benchBareLoop(config, records.length));
    const perf = topicName(config, 'late'); // an empty topic of the run, 6 partitions, dropped with the rest
    javaProducerRates.push((await javaProduce(cp, brokers, perf, records.length)).recordsPerSec);
    javaConsumerRates.push((await javaConsume(cp, brokers, perf, `${prefix}perf`, records.length)).recordsPerSec);
    await dropTopics(prefix, config);
    process.stderr.write(`run ${run + 1}/${RUNS} done\n`);
  }
  sampler.stop();
  printTable(`stream benchmark: ${TICKS} ticks, ${RUNS} runs, medians (records/s)`, [
    ['producer: TickProducer', median(producerRates), median(bareProducerRates), 'bare kafkajs send loop'],
    ['producer: TickProducer', median(producerRates), median(javaProducerRates), 'kafka-producer-perf-test, 200 B'],
    ['processor: exactly-once', median(processorRates), median(bareLoopRates), 'bare consume→produce loop'],
    ['processor: exactly-once', median(processorRates), median(javaConsumerRates), 'kafka-consumer-perf-test'],
  ]);
  process.stdout.write(
    `fresh processor, start() to its first committed batch: median ${median(processorStarts).toFixed(2)} s ` +
      `(runs: ${processorStarts.map((x) => x.toFixed(2)).join(', ')})\n`,
  );
  process.stdout.write(`peak RSS of the benchmark process: ${(peakRss() / 1024 / 1024).toFixed(0)} MiB\n`);
  process.exit(0);
}

await main();
