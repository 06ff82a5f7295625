import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AlertEngine, sourceOwner } from '../../../core/alerts/engine.ts';
import { SpeedLayerPartition } from '../../../core/alerts/partition.ts';
import { PartitionPipeline, pipelineOptionsFrom } from '../../../core/pipeline.ts';
import type { Alert } from '../../../core/schemas/alert.ts';
import { loadRulesFile, rulesFilePath } from '../../../infra/alerts/rules-file.ts';
import { NO_MODEL_SCORERS } from '../../../core/models/score.ts';
import { kafkaClient } from '../../../infra/clients.ts';
import { loadConfig } from '../../../infra/config.ts';
import { createLogger } from '../../../infra/logger.ts';
import { testStackProfile } from '../../../infra/stack/profile.ts';
import { runIngest } from '../../../streaming/ingest.ts';
import { createSyntheticSource } from '../../../streaming/sources/synthetic/source.ts';
import { topicName } from '../../../streaming/topics.ts';
import { uniqueName } from '../../support/ids.ts';
import { deleteTopicsWithPrefix, readTopic, waitForCaughtUp, type ReadMessage } from '../../support/kafka.ts';
import { waitForGroup, waitUntil } from '../../support/wait.ts';
import { WebhookReceiver } from '../../../streaming/webhooks/receiver.ts';
import { newSecret, secretKey } from '../../../streaming/webhooks/sign.ts';

/**
 * `ticklake alerts` as people run it: two instances share the partitions of ticks.raw and deliver webhooks to a
 * verifying receiver; one is SIGKILLed mid-stream and restarted (as a supervisor would). The alerts topic must then
 * hold exactly what one uninterrupted evaluation of the same records gives (the pure SpeedLayerPartition per
 * partition, in offset order): every alert once, none lost, none doubled; and every one of them reaches the
 * receiver, signed, under the webhook-id its alert id gives.
 */
const BIN = fileURLToPath(new URL('../../../bin/ticklake.mjs', import.meta.url));
const prefix = `${uniqueName('alerts')}.`;
const PARTITIONS = 4;
const env = {
  ...process.env,
  TICKLAKE_TOPICS_PREFIX: prefix,
  TICKLAKE_TOPICS_PARTITIONS: String(PARTITIONS),
  TICKLAKE_ALERTS_GROUP_ID: `${prefix}alerts`,
  TICKLAKE_ALERTS_SNAPSHOT_INTERVAL_MS: '1000',
  // The market is a fixed past day (deterministic): deliver its alerts however old (a replay).
  TICKLAKE_WEBHOOKS_MAX_ALERT_AGE_SEC: '0',
  TICKLAKE_LOG_LEVEL: 'warn',
};
const secret = newSecret();
const received = new Map<string, Alert>();
const receiver = new WebhookReceiver({
  secrets: [secretKey(secret)],
  toleranceSec: 300,
  seenCapacity: 100_000,
  print: () => {},
  onAlert: (alert, webhookId) => received.set(webhookId, alert),
});
const config = loadConfig({ env, profile: testStackProfile() });
const kafka = kafkaClient(config, 'alerts-test');
const children: ChildProcess[] = [];
const stderrOf = new Map<string, () => string>();
const readyOf = new Map<string, Promise<void>>();

function startAlerts(instance: string, metricsPort: number, receiverPort: number): ChildProcess {
  const endpoint = { name: 'test', url: `http://127.0.0.1:${receiverPort}/`, secretEnv: 'TEST_WEBHOOK_SECRET' };
  const child = spawn(process.execPath, [BIN, '--profile', 'test', 'alerts', '--instance', instance], {
    env: {
      ...env,
      TICKLAKE_METRICS_PORT: String(metricsPort),
      TICKLAKE_WEBHOOKS_ENDPOINTS: JSON.stringify([endpoint]),
      TEST_WEBHOOK_SECRET: secret,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  let ready!: () => void;
  readyOf.set(instance, new Promise<void>((resolve) => (ready = resolve)));
  stderrOf.set(instance, () => err);
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
    if (err.includes(`[alerts] ${instance} evaluating`)) ready();
  });
  children.push(child);
  return child;
}

async function committed(): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const [g] = await admin.fetchOffsets({ groupId: config.alerts.groupId, topics: [topicName(config, 'raw')] });
  await admin.disconnect();
  return (g?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

/** One uninterrupted evaluation: each partition once, in offset order, through the same pure core. */
function offlineAlerts(raw: ReadMessage[], reference: ReadonlyMap<string, never> | Map<string, unknown>): Alert[] {
  const { rules } = loadRulesFile(rulesFilePath(config));
  const parts = new Map<number, SpeedLayerPartition>();
  const alerts: Alert[] = [];
  for (const m of raw) {
    let p = parts.get(m.partition);
    if (!p) {
      const engine = new AlertEngine(rules, {
        now: () => 0,
        // The models topic under this test's prefix is empty: the live model rule scores nothing either.
        scorers: NO_MODEL_SCORERS,
        ownsSource: (s) => sourceOwner(s, PARTITIONS) === m.partition,
      });
      parts.set(
        m.partition,
        (p = new SpeedLayerPartition(PartitionPipeline.create(pipelineOptionsFrom(config)), engine)),
      );
    }
    p.apply(
      { key: m.key, value: m.value, offset: m.offset, timestampMs: Number(m.timestamp) },
      reference as never,
      0,
      alerts,
    );
  }
  return alerts;
}

const withoutEmitted = ({ emittedTs: _e, ...rest }: Alert) => rest;
const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await receiver.close();
  await deleteTopicsWithPrefix(kafka, prefix);
});

describe('ticklake alerts, two instances, one killed mid-stream', () => {
  it('writes exactly the alerts of one uninterrupted evaluation, each once, and delivers every one as a signed webhook', async () => {
    const source = createSyntheticSource({
      seed: 41,
      symbols: 16,
      maxTicks: 40_000,
      speed: 0,
      start: '2026-11-20T14:30:00Z',
      ratePerSymbol: 4,
      anomalies: {
        priceJump: { count: 30 },
        spreadBlowout: { count: 30 },
        volumeSpike: { count: 20 },
        staleFeed: { count: 4 },
        duplicate: { count: 40 },
      },
    });
    const receiverPort = await receiver.listen(0, '127.0.0.1');
    const a = startAlerts('a', 29_511, receiverPort);
    startAlerts('b', 29_512, receiverPort);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([readyOf.get('a'), readyOf.get('b')]),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`alerts did not start: a: ${stderrOf.get('a')?.()}\nb: ${stderrOf.get('b')?.()}`)),
          60_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    await waitForGroup(kafka, config.alerts.groupId, 2);
    await runIngest({
      config,
      kafka,
      created: { source, universe: source.universe },
      sourceName: 'synthetic',
      log: createLogger({ test: 'alerts' }, 'warn'),
      signal: new AbortController().signal,
      finalWatermark: true,
    });
    const deadline = Date.now() + 120_000;
    while ((await committed()) < 8_000 && Date.now() < deadline) await sleep(100);
    a.kill('SIGKILL');
    expect(await committed(), `nothing committed; a: ${stderrOf.get('a')?.()}`).toBeGreaterThan(0);
    // Restarted like a supervisor would: it resumes the deliveries a had recorded and not finished.
    startAlerts('a', 29_513, receiverPort);

    await waitForCaughtUp(kafka, config.alerts.groupId, topicName(config, 'raw'), 180_000);
    const raw = await readTopic(kafka, topicName(config, 'raw'));
    const streamed: Alert[] = (await readTopic(kafka, topicName(config, 'alerts'))).map((m) =>
      JSON.parse(m.value!.toString()),
    );
    const expected = offlineAlerts(raw, new Map(source.universe.map((r) => [r.symbol, r])));
    // The run is one the rules have something to say about, by more than one rule.
    expect(expected.length).toBeGreaterThan(20);
    expect(new Set(expected.map((x) => x.rule)).size).toBeGreaterThan(2);
    // Each alert once: no id twice in the topic, and the set and contents equal the single evaluation's.
    expect(new Set(streamed.map((x) => x.id)).size).toBe(streamed.length);
    expect(streamed.map(withoutEmitted).sort(byId)).toEqual(expected.map(withoutEmitted).sort(byId));
    // Every alert reached the receiver, verified, as alert_<id>; and nothing it got is not in the topic.
    const want = new Set(streamed.map((x) => `alert_${x.id}`));
    await waitUntil(() => [...want].every((id) => received.has(id)), 'every alert delivered', 60_000).catch(() => {});
    expect([...want].filter((id) => !received.has(id))).toEqual([]);
    expect([...received.keys()].filter((id) => !want.has(id))).toEqual([]);
    for (const [id, alert] of received) expect(`alert_${alert.id}`).toBe(id);
  }, 300_000);
});
