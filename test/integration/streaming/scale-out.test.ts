import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../infra/config.ts';
import { createLogger } from '../../../infra/logger.ts';
import type { Bar } from '../../../core/schemas/bar.ts';
import { kafkaClient } from '../../../infra/clients.ts';
import { testStackProfile } from '../../../infra/stack/profile.ts';
import { runIngest } from '../../../streaming/ingest.ts';
import { createSyntheticSource } from '../../../streaming/sources/synthetic/source.ts';
import { topicName } from '../../../streaming/topics.ts';
import { uniqueName } from '../../support/ids.ts';
import { deleteTopicsWithPrefix, readTopic, waitForCaughtUp } from '../../support/kafka.ts';
import { latestBars, offlinePipeline } from '../../support/pipeline-oracle.ts';
import { waitForGroup } from '../../support/wait.ts';
import { pipelineOptionsFrom } from '../../../core/pipeline.ts';

const BIN = fileURLToPath(new URL('../../../bin/ticklake.mjs', import.meta.url));
const prefix = `${uniqueName('scale')}.`;
const env = {
  ...process.env,
  TICKLAKE_TOPICS_PREFIX: prefix,
  TICKLAKE_TOPICS_PARTITIONS: '4',
  TICKLAKE_PROCESSOR_GROUP_ID: `${prefix}processor`,
  TICKLAKE_PROCESSOR_SNAPSHOT_INTERVAL_MS: '1000',
  TICKLAKE_LOG_LEVEL: 'warn',
};
const config = loadConfig({ env, profile: testStackProfile() });
const kafka = kafkaClient(config, 'scale-test');
const children: ChildProcess[] = [];
const logs = new Map<string, () => string>();

const readyOf = new Map<string, Promise<void>>();

function startProcessor(instance: string, metricsPort: number): ChildProcess {
  const child = spawn(process.execPath, [BIN, '--profile', 'test', 'process', '--instance', instance], {
    env: { ...env, TICKLAKE_METRICS_PORT: String(metricsPort) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  let markReady!: () => void;
  readyOf.set(instance, new Promise<void>((resolve) => (markReady = resolve)));
  logs.set(instance, () => err);
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
    if (err.includes(`[process] ${instance} consuming`)) markReady();
  });
  child.once('exit', (code, signal) => {
    if (code && code !== 0 && signal !== 'SIGKILL')
      process.stderr.write(`processor ${instance} exited ${code}: ${err}\n`);
  });
  children.push(child);
  return child;
}

async function committedTotal(): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const [g] = await admin.fetchOffsets({ groupId: config.processor.groupId, topics: [topicName(config, 'raw')] });
  await admin.disconnect();
  return (g?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await deleteTopicsWithPrefix(kafka, prefix);
});

describe('two processor instances, one killed mid-stream', () => {
  it('produce exactly the outputs of a single uninterrupted instance', async () => {
    const source = createSyntheticSource({
      seed: 23,
      symbols: 24,
      maxTicks: 40_000,
      speed: 0,
      start: '2026-11-20T14:30:00Z',
      ratePerSymbol: 2,
      anomalies: {
        duplicate: { count: 50 },
        outOfOrder: { count: 50 },
        malformed: { count: 10, oversizedBytes: 50_000 },
      },
    });
    const a = startProcessor('a', 29_501);
    startProcessor('b', 29_502);
    // Both consume before data flows, so the stream really is split between them.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([readyOf.get('a'), readyOf.get('b')]),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`processors did not start: a: ${logs.get('a')?.()}\nb: ${logs.get('b')?.()}`)),
          60_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    // Both hold partitions before data flows, so the stream really is split between them.
    await waitForGroup(kafka, config.processor.groupId, 2);
    await runIngest({
      config,
      kafka,
      created: { source, universe: source.universe },
      sourceName: 'synthetic',
      log: createLogger({ test: 'scale-out' }, 'warn'),
      signal: new AbortController().signal,
      finalWatermark: true,
    });
    // Kill one instance while both are mid-stream: some but not all of the input is committed.
    const deadline = Date.now() + 120_000;
    while ((await committedTotal()) < 8_000 && Date.now() < deadline) await sleep(100);
    a.kill('SIGKILL');
    const killedAt = await committedTotal();
    expect(
      killedAt,
      `nothing committed; stderr of a: ${logs.get('a')?.()}\nstderr of b: ${logs.get('b')?.()}`,
    ).toBeGreaterThan(0);
    expect(killedAt).toBeLessThan(40_000);

    await waitForCaughtUp(kafka, config.processor.groupId, topicName(config, 'raw'), 180_000);
    // a died inside a transaction. Transactional ids are per input partition, so b, taking a's partitions over,
    // initialised a's ids and aborted its open transaction: readers of the outputs are not held up by it until the
    // broker's transaction timeout (nothing here fences a by hand).

    const raw = await readTopic(kafka, topicName(config, 'raw'));
    const enriched = (await readTopic(kafka, topicName(config, 'enriched'))).map((m) =>
      JSON.parse(m.value!.toString()),
    );
    const bars: Bar[] = (await readTopic(kafka, topicName(config, 'bars'))).map((m) => JSON.parse(m.value!.toString()));
    const dlq = await readTopic(kafka, topicName(config, 'dlq'));
    const single = offlinePipeline(
      raw,
      pipelineOptionsFrom(config),
      new Map(source.universe.map((r) => [r.symbol, r])),
    );
    // No record lost, none counted twice.
    expect(enriched.map((e: { id: string }) => e.id)).toEqual(single.enriched.map((e) => e.id));
    expect(dlq.length).toBe(single.rejected.length);
    // Every bar revision exactly once, and the final bars identical.
    expect(bars.length).toBe(single.bars.length);
    const streamed = latestBars(bars);
    const expected = latestBars(single.bars);
    expect(streamed.size).toBe(expected.size);
    for (const [key, bar] of expected) expect(streamed.get(key)).toEqual(bar);
  }, 300_000);
});
