import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeBars } from '../../../core/bars.ts';
import { loadConfig } from '../../../infra/config.ts';
import { createLogger } from '../../../infra/logger.ts';
import { loadShippedReference } from '../../../infra/reference-file.ts';
import type { Bar } from '../../../core/schemas/bar.ts';
import type { DlqRecord } from '../../../core/schemas/dlq.ts';
import type { EnrichedTick } from '../../../core/schemas/enriched.ts';
import type { TradeTick } from '../../../core/schemas/tick.ts';
import { kafkaClient } from '../../../infra/clients.ts';
import { testStackProfile } from '../../../infra/stack/profile.ts';
import { runIngest } from '../../../streaming/ingest.ts';
import { StreamProcessor } from '../../../streaming/processor/processor.ts';
import { ReferenceCache } from '../../../streaming/reference-cache.ts';
import { createSyntheticSource } from '../../../streaming/sources/synthetic/source.ts';
import { MALFORMED_DLQ_REASON } from '../../../streaming/sources/synthetic/faults.ts';
import { topicName } from '../../../streaming/topics.ts';
import { uniqueName } from '../../support/ids.ts';
import { deleteTopicsWithPrefix, readTopic, waitForCaughtUp, type ReadMessage } from '../../support/kafka.ts';
import { latestBars, offlinePipeline } from '../../support/pipeline-oracle.ts';
import { pipelineOptionsFrom } from '../../../core/pipeline.ts';

const prefix = `${uniqueName('pipe')}.`;
const config = loadConfig({
  overrides: { ...testStackProfile(), topics: { prefix, partitions: 3 }, processor: { groupId: `${prefix}processor` } },
});
const kafka = kafkaClient(config, 'pipeline-test');
const log = createLogger({ test: 'pipeline' }, 'warn');
const source = createSyntheticSource({
  seed: 11,
  symbols: 20,
  maxTicks: 12_000,
  speed: 0,
  start: '2026-11-20T14:30:00Z',
  ratePerSymbol: 1,
  anomalies: {
    duplicate: { count: 40 },
    outOfOrder: { count: 40 },
    late: { count: 8, min: 90, max: 150 },
    malformed: { count: 14, oversizedBytes: 1_000_000 },
    priceJump: { count: 5 },
  },
});

let raw: ReadMessage[];
let enriched: EnrichedTick[];
let bars: Bar[];
let dlq: DlqRecord[];
let late: ReadMessage[];

beforeAll(async () => {
  await runIngest({
    config,
    kafka,
    created: { source, universe: source.universe },
    sourceName: 'synthetic',
    log,
    signal: new AbortController().signal,
    finalWatermark: true,
  });
  const reference = new ReferenceCache(kafka, topicName(config, 'referenceSymbols'), loadShippedReference(), log);
  await reference.start();
  const processor = new StreamProcessor({ config, kafka, reference, log, instanceId: 'it-0' });
  await processor.start();
  await waitForCaughtUp(kafka, config.processor.groupId, topicName(config, 'raw'));
  await processor.stop();
  await reference.stop();
  raw = await readTopic(kafka, topicName(config, 'raw'));
  enriched = (await readTopic(kafka, topicName(config, 'enriched'))).map((m) => JSON.parse(m.value!.toString()));
  bars = (await readTopic(kafka, topicName(config, 'bars'))).map((m) => JSON.parse(m.value!.toString()));
  dlq = (await readTopic(kafka, topicName(config, 'dlq'))).map((m) => JSON.parse(m.value!.toString()));
  late = await readTopic(kafka, topicName(config, 'late'));
}, 240_000);

afterAll(async () => {
  await deleteTopicsWithPrefix(kafka, prefix);
});

describe('ingest → process, exactly once (synthetic market with injected faults)', () => {
  it('builds exactly the bars that computeBars gives offline from the accepted trades', () => {
    const trades = enriched.filter((e): e is EnrichedTick & TradeTick => e.type === 'trade');
    const offline = computeBars(trades);
    const streamed = latestBars(bars);
    expect(streamed.size).toBe(offline.length);
    for (const b of offline) {
      const s = streamed.get(`${b.symbol}@${b.windowStart}`)!;
      expect({ ...s, revision: 0 }).toEqual({ ...b, revision: 0 });
    }
    expect(offline.length).toBeGreaterThan(100);
  });

  it('equals a single uninterrupted pass of the same pure pipeline, record for record', () => {
    const offline = offlinePipeline(
      raw,
      pipelineOptionsFrom(config),
      new Map(source.universe.map((r) => [r.symbol, r])),
    );
    expect(enriched.map((e) => e.id)).toEqual(offline.enriched.map((e) => e.id));
    expect(bars.length).toBe(offline.bars.length);
    const key = (partition: number, offset: string, reason: string) => `${partition}:${offset}:${reason}`;
    expect(dlq.map((d) => key(d.partition, d.offset, d.reason)).sort()).toEqual(
      offline.rejected.map((r) => key(rawPartition(r.record.offset, r.record.value), r.record.offset, r.reason)).sort(),
    );
    expect(late.length).toBe(offline.late.length);
  });

  it('dead-letters every malformed record with the reason its label predicts, keeping the original bytes', () => {
    const labels = source.labels().filter((l) => l.kind === 'malformed');
    expect(labels.length).toBe(14);
    expect(dlq.length).toBe(labels.length);
    const reasons = dlq.map((d) => d.reason).sort();
    const expected = labels
      .map((l) => MALFORMED_DLQ_REASON[l.detail.variant as keyof typeof MALFORMED_DLQ_REASON])
      .sort();
    expect(reasons).toEqual(expected);
    for (const d of dlq) {
      const original = raw.find((r) => r.partition === d.partition && r.offset === d.offset)!;
      expect(Buffer.from(d.original, 'base64').equals(original.value!)).toBe(true);
    }
  });

  it('drops every duplicate and keeps each tick id once', () => {
    const ids = enriched.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    const dupes = source.labels().filter((l) => l.kind === 'duplicate');
    expect(dupes.length).toBe(40);
    // Exactly once, not "at most once": an original that vanished must fail this too. A duplicated trade whose
    // window had closed is kept in ticks.late instead, so both outputs count.
    const lateIds = late.map((m) => (JSON.parse(m.value!.toString()) as { id: string }).id);
    const kept = [...ids, ...lateIds];
    for (const d of dupes) expect(kept.filter((id) => id === d.id).length, d.id).toBe(1);
  });

  it('sends trades later than the allowed lateness to ticks.late, never to enriched or bars', () => {
    const lateRecords = late.map(
      (m) => JSON.parse(m.value!.toString()) as TradeTick & { windowStart: number; watermark: number },
    );
    expect(lateRecords.length).toBeGreaterThan(0);
    const lateness = config.processor.allowedLatenessMs * 1000;
    for (const r of lateRecords) {
      expect(r.type).toBe('trade');
      expect(r.watermark).toBeGreaterThanOrEqual(r.windowStart + 60_000_000 + lateness);
    }
    const lateIds = new Set(lateRecords.map((r) => r.id));
    for (const e of enriched) expect(lateIds.has(e.id)).toBe(false);
    // Each late record comes from an injected late tick.
    const injected = new Set(
      source
        .labels()
        .filter((l) => l.kind === 'late')
        .map((l) => l.id),
    );
    for (const id of lateIds) expect(injected.has(id)).toBe(true);
  });
});

/** The partition of a raw record, found by its offset and bytes (offsets repeat across partitions). */
function rawPartition(offset: string, value: Buffer | null): number {
  return raw.find((r) => r.offset === offset && r.value === value)!.partition;
}
