import { randomBytes, randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelActivities } from '../../../activities/models.ts';
import { createWarehouseActivities } from '../../../activities/warehouse.ts';
import type { Bar } from '../../../core/schemas/bar.ts';
import { anomalyModelSchema } from '../../../core/schemas/model.ts';
import { bigqueryClient, kafkaClient } from '../../../infra/clients.ts';
import { createLogger } from '../../../infra/logger.ts';
import { closeDuckDb } from '../../../lake/duckdb.ts';
import { readLatestModels, readModelsManifest } from '../../../lake/models.ts';
import { readRows } from '../../../lake/reader.ts';
import { S3Storage } from '../../../lake/storage/s3.ts';
import { anomaliesTable, barsTable } from '../../../lake/tables.ts';
import { LakeWriter } from '../../../lake/writer.ts';
import { ModelCache } from '../../../streaming/models/model-cache.ts';
import { Warehouse } from '../../../warehouse/warehouse.ts';
import { WORKFLOW_IDS } from '../../../workflows/constants.ts';
import { anomalyScoringWorkflow, modelTrainingWorkflow } from '../../../workflows/index.ts';
import { readTopic } from '../../support/kafka.ts';
import { uniqueName } from '../../support/ids.ts';
import { testStackConfig } from '../../support/stack.ts';
import { localTemporal, recordHistory, startTestWorker } from '../../support/temporal.ts';
import { uniqueDataset } from '../../support/warehouse.ts';
import { walkBars } from '../../unit/core/models/fixtures.ts';

/**
 * Training and batch scoring on Temporal against the test stack's S3, Kafka and BigQuery emulator: models land in
 * the lake's models/ and on a compacted topic, a repeated run changes nothing, a day's scores land in the anomalies
 * table and BigQuery, and scoring again gives the same rows.
 */
const DAY1 = '2026-11-20';
const DAY2 = '2026-11-21';
const dayUs = (day: string) => Date.parse(`${day}T00:00:00Z`) * 1000;
const config = testStackConfig();
const bq = bigqueryClient(config);
const dataset = uniqueDataset('it_models');
const storage = new S3Storage(config.s3, { prefix: `it-models-${randomBytes(4).toString('hex')}/` });
const topic = uniqueName('it-models');
const taskQueue = `models-test-${randomUUID()}`;
const log = createLogger({ component: 'test' }, 'warn');
let kafka: Kafka;
let env: TestWorkflowEnvironment;
let stopWorker: () => Promise<void>;
let wh: Warehouse;

const SYMBOLS = ['AAA', 'BBB', 'CCC'];
// DAY2's shock: AAA's bar at 10:00 jumps 10 % (its close stays up: a level shift).
const SHOCK_US = dayUs(DAY2) + 10 * 3_600_000_000;

function dayBars(day: string, n: number, seed0: number, start = dayUs(day) + 8 * 3_600_000_000): Bar[] {
  return SYMBOLS.flatMap((s, i) => walkBars(s, n, seed0 + i, start));
}

beforeAll(async () => {
  kafka = kafkaClient(config, 'it-models');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const lake = new LakeWriter(storage);
  const day2 = dayBars(DAY2, 300, 20).map((b) =>
    b.symbol === 'AAA' && b.windowStart >= SHOCK_US
      ? { ...b, open: b.open * 1.1, high: b.high * 1.1, low: b.low * 1.1, close: b.close * 1.1 }
      : b,
  );
  const thin = walkBars('THIN', 50, 99, dayUs(DAY1) + 8 * 3_600_000_000);
  let offset = 0;
  for (const bars of [dayBars(DAY1, 400, 10), thin, day2]) {
    const range = {
      topic: 'bars.1m',
      partition: 0,
      startOffset: String(offset),
      endOffset: String(offset + bars.length - 1),
    };
    offset += bars.length;
    await lake.commit(barsTable, await lake.writeFile(barsTable, bars, range));
  }
  const whDeps = {
    bigquery: bq,
    storage,
    projectId: config.bigquery.projectId,
    dataset,
    location: config.bigquery.location,
    concurrency: 2,
    heartbeatMs: 500,
  };
  wh = new Warehouse(whDeps);
  await wh.apply();
  env = await localTemporal();
  stopWorker = await startTestWorker(env, taskQueue, {
    ...createModelActivities({
      storage,
      kafka,
      modelsTopic: topic,
      windowDays: 7,
      minBars: 120,
      threshold: 8,
      heartbeatMs: 500,
    }),
    ...createWarehouseActivities(whDeps),
  });
}, 240_000);

afterAll(async () => {
  await stopWorker?.();
  await env?.teardown();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  for (const o of await storage.list('')) await storage.delete(o.key);
  storage.client.destroy();
  await bq
    .dataset(dataset)
    .delete({ force: true })
    .catch(() => undefined);
  await closeDuckDb();
}, 120_000);

describe('model training and batch scoring on Temporal', () => {
  it('trains per symbol into models/ and the compacted topic; a repeated run stores nothing new', async () => {
    const firstId = WORKFLOW_IDS.modelTraining(randomUUID());
    const train = (workflowId = WORKFLOW_IDS.modelTraining(randomUUID())) =>
      env.client.workflow.execute(modelTrainingWorkflow, { taskQueue, workflowId, args: [{ from: DAY1, to: DAY1 }] });
    const first = await train(firstId);
    await recordHistory(env, 'model-training', firstId);
    expect(first).toMatchObject({
      from: DAY1,
      to: DAY1,
      bars: 1250,
      trained: 3,
      skipped: ['THIN'],
      written: 3,
      changed: 3,
    });
    const manifest = await readModelsManifest(storage);
    expect(manifest?.models).toEqual(first.versions);
    const models = await readLatestModels(storage);
    expect(models.map((m) => [m.symbol, m.window.bars])).toEqual(SYMBOLS.map((s) => [s, 400]));

    const second = await train();
    expect(second).toMatchObject({ trained: 3, written: 0, changed: 0 });
    expect(second.versions).toEqual(first.versions);
    expect((await readModelsManifest(storage))?.updatedAt).toBe(manifest?.updatedAt);

    // The topic: one valid model per symbol key (the latest per key once compacted; here both runs' identical copies).
    const records = await readTopic(kafka, topic, { idleMs: 1000 });
    expect(new Set(records.map((r) => r.key))).toEqual(new Set(SYMBOLS));
    for (const r of records)
      expect(anomalyModelSchema.parse(JSON.parse(r.value!.toString())).version).toBe(first.versions[r.key!]);
    const cache = new ModelCache(kafka, topic, log);
    await cache.start();
    expect(cache.versions()).toEqual(first.versions);
    await cache.stop();
  }, 180_000);

  it('scores a day into the anomalies table and BigQuery with the model versions, the same rows on a rerun', async () => {
    const firstId = WORKFLOW_IDS.anomalyScoring(randomUUID());
    const score = (workflowId = WORKFLOW_IDS.anomalyScoring(randomUUID())) =>
      env.client.workflow.execute(anomalyScoringWorkflow, { taskQueue, workflowId, args: [{ day: DAY2 }] });
    const first = await score(firstId);
    await recordHistory(env, 'anomaly-scoring', firstId);
    expect(first).toMatchObject({ day: DAY2, bars: 900, rows: 900, unscored: [], load: 'loaded' });
    const rows = [];
    for await (const p of readRows(storage, anomaliesTable, {})) rows.push(...p.rows);
    expect(rows).toHaveLength(900);
    const versions = (await readModelsManifest(storage))!.models;
    for (const r of rows) expect(r.modelVersion).toBe(versions[r.symbol]);
    const flagged = rows.filter((r) => r.flagged === 1);
    expect(flagged.map((r) => [r.symbol, r.windowStart, r.kind])).toEqual([['AAA', SHOCK_US, 'price']]);
    expect(first.flagged).toBe(1);

    const second = await score();
    expect(second).toMatchObject({ rows: 900, flagged: 1, committed: 0, unchanged: 24 });
    const [bqRows] = await bq.query({
      query: `SELECT symbol, COUNT(*) AS n, SUM(flagged) AS f, COUNT(DISTINCT model_version) AS v FROM \`${config.bigquery.projectId}.${dataset}.anomalies\` GROUP BY symbol ORDER BY symbol`,
      location: config.bigquery.location,
    });
    expect(
      bqRows.map((r: { symbol: string; n: number; f: number; v: number }) => [
        r.symbol,
        Number(r.n),
        Number(r.f),
        Number(r.v),
      ]),
    ).toEqual([
      ['AAA', 300, 1, 1],
      ['BBB', 300, 0, 1],
      ['CCC', 300, 0, 1],
    ]);
  }, 180_000);
});
