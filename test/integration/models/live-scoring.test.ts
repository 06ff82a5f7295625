import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { barSeries } from '../../../core/models/features.ts';
import { trainAll } from '../../../core/models/fit.ts';
import { pipelineOptionsFrom } from '../../../core/pipeline.ts';
import type { Alert } from '../../../core/schemas/alert.ts';
import type { AnomalyModel } from '../../../core/schemas/model.ts';
import { kafkaClient } from '../../../infra/clients.ts';
import { loadConfig } from '../../../infra/config.ts';
import { createLogger } from '../../../infra/logger.ts';
import { testStackProfile } from '../../../infra/stack/profile.ts';
import { runAlertEval } from '../../../streaming/alerts/evaluate.ts';
import { runIngest } from '../../../streaming/ingest.ts';
import { publishModels } from '../../../streaming/models/model-cache.ts';
import { createSyntheticSource } from '../../../streaming/sources/synthetic/source.ts';
import { ensureTopics, topicName } from '../../../streaming/topics.ts';
import { uniqueName } from '../../support/ids.ts';
import { deleteTopicsWithPrefix, readTopic, waitForCaughtUp } from '../../support/kafka.ts';
import { waitForGroup, waitUntil } from '../../support/wait.ts';

/**
 * `ticklake alerts` with the model rule, as it runs: models come from the compacted models topic, read at start
 * and tailed. Version 1 (for three of four symbols) scores the first stretch of market; the fourth symbol's bars
 * are counted as unscored, never alerted on; version 2, published while the process runs, scores the next stretch
 * without a restart, and each alert names the version that scored it.
 */
const BIN = fileURLToPath(new URL('../../../bin/ticklake.mjs', import.meta.url));
const prefix = `${uniqueName('models-live')}.`;
const METRICS_PORT = 29_531;
const env = {
  ...process.env,
  TICKLAKE_TOPICS_PREFIX: prefix,
  TICKLAKE_TOPICS_PARTITIONS: '2',
  TICKLAKE_ALERTS_GROUP_ID: `${prefix}alerts`,
  TICKLAKE_LOG_LEVEL: 'warn',
  TICKLAKE_METRICS_PORT: String(METRICS_PORT),
};
const config = loadConfig({ env, profile: testStackProfile() });
const kafka = kafkaClient(config, 'models-live-test');
const log = createLogger({ test: 'models-live' }, 'warn');
const work = mkdtempSync(join(tmpdir(), 'ticklake-models-live-'));
let child: ChildProcess | undefined;
let stderr = '';

const MARKET = { symbols: 4, ratePerSymbol: 4, tradingHours: false } as const;
const PHASE2_START = '2026-11-20T15:00:00Z';

/** Models trained on a stretch of the same market (another seed and hour): v1 and v2 differ only in their window. */
function trainModels(): { v1: AnomalyModel[]; v2: AnomalyModel[] } {
  const r = runAlertEval({
    market: { ...MARKET, seed: 7, start: '2026-11-20T12:00:00Z', durationSec: 40 * 60 },
    rules: [],
    pipeline: pipelineOptionsFrom(config),
    partitions: 1,
    collect: true,
  });
  const series = barSeries(r.bars!);
  const train = (toUs: number) => trainAll(series, { minBars: 20, fromUs: r.startUs, toUs, trainedAt: 0 }).models;
  return { v1: train(r.endUs), v2: train(r.endUs + 60_000_000) };
}

async function ingest(seed: number, start: string): Promise<void> {
  const source = createSyntheticSource({
    ...MARKET,
    seed,
    start,
    speed: 0,
    maxTicks: 12_000,
    anomalies: { priceJump: { count: 8 }, volumeSpike: { count: 6 } },
  });
  await runIngest({
    config,
    kafka,
    created: { source, universe: source.universe },
    sourceName: 'synthetic',
    log,
    signal: new AbortController().signal,
    finalWatermark: true,
  });
  await waitForCaughtUp(kafka, config.alerts.groupId, topicName(config, 'raw'), 120_000);
}

/** The values of a metric's series whose labels include `labels` (the process adds its own, e.g. its role). */
async function metric(name: string, labels = ''): Promise<number[]> {
  const text = await (await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .filter((l) => l.slice(0, l.lastIndexOf(' ')).includes(labels))
    .map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
}

async function alerts(): Promise<Alert[]> {
  return (await readTopic(kafka, topicName(config, 'alerts'))).map((m) => JSON.parse(m.value!.toString()) as Alert);
}

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await deleteTopicsWithPrefix(kafka, prefix);
  rmSync(work, { recursive: true, force: true });
});

describe('live model scoring in ticklake alerts', () => {
  it('scores with the models topic’s latest version, picks up a new one without a restart, counts symbols without one', async () => {
    const { v1, v2 } = trainModels();
    expect(v1).toHaveLength(4);
    expect(v1.map((m) => m.version)).not.toEqual(v2.map((m) => m.version));
    const [withheld, ...modelled] = v1.map((m) => m.symbol);
    await ensureTopics(kafka, config);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await publishModels(producer, topicName(config, 'models'), v1.slice(1));

    const rules = join(work, 'rules.yaml');
    writeFileSync(
      rules,
      'version: 1\nrules:\n  - id: anomaly-score\n    kind: model_score\n    scorer: anomaly\n    threshold: 8\n    cooldownSec: 0\n',
    );
    child = spawn(
      process.execPath,
      [BIN, '--profile', 'test', 'alerts', '--instance', 'models-live', '--rules', rules],
      {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    await waitUntil(() => stderr.includes('3 symbols with a model'), `alerts started (${stderr})`, 60_000);
    await waitForGroup(kafka, config.alerts.groupId, 1);

    await ingest(41, '2026-11-20T14:30:00Z');
    const first = await alerts();
    const v1Of = new Map(v1.map((m) => [m.symbol, m.version]));
    expect(first.length, stderr).toBeGreaterThan(0);
    for (const a of first) {
      expect(a.rule).toBe('anomaly-score');
      expect(a.modelVersion).toBe(v1Of.get(a.symbol));
    }
    expect(first.some((a) => a.symbol === withheld)).toBe(false);
    const [unscored] = await metric('ticklake_model_unscored_bars_total', `symbol="${withheld}"`);
    expect(unscored).toBeGreaterThan(0);
    for (const s of modelled) expect(await metric('ticklake_model_unscored_bars_total', `symbol="${s}"`)).toEqual([]);

    await publishModels(producer, topicName(config, 'models'), v2);
    await producer.disconnect();
    await waitUntil(
      async () => (await metric('ticklake_model_updates_total', 'outcome="applied"'))[0] === 7,
      'v2 read by the running process',
      30_000,
    );
    await ingest(42, PHASE2_START);
    const phase2 = (await alerts()).filter((a) => a.windowStart >= Date.parse(PHASE2_START) * 1000);
    const v2Of = new Map(v2.map((m) => [m.symbol, m.version]));
    expect(phase2.length, stderr).toBeGreaterThan(0);
    for (const a of phase2) expect(a.modelVersion).toBe(v2Of.get(a.symbol));
    expect(await metric('ticklake_model_symbols')).toEqual([4]);
    expect(child.exitCode).toBeNull();
  }, 300_000);
});
