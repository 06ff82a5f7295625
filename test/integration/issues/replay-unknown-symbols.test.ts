import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DlqRecord } from '../../../core/schemas/dlq.ts';
import type { EnrichedTick } from '../../../core/schemas/enriched.ts';
import { kafkaClient } from '../../../infra/clients.ts';
import { loadConfig } from '../../../infra/config.ts';
import { createLogger } from '../../../infra/logger.ts';
import { loadShippedReference } from '../../../infra/reference-file.ts';
import { testStackProfile } from '../../../infra/stack/profile.ts';
import { runIngest } from '../../../streaming/ingest.ts';
import { StreamProcessor } from '../../../streaming/processor/processor.ts';
import { ReferenceCache } from '../../../streaming/reference-cache.ts';
import { createReplaySource } from '../../../streaming/sources/replay/source.ts';
import { topicName } from '../../../streaming/topics.ts';
import { uniqueName } from '../../support/ids.ts';
import { deleteTopicsWithPrefix, readTopic, waitForCaughtUp } from '../../support/kafka.ts';

/**
 * Issue #9: a replay of the user's own file with symbols outside the shipped 63-symbol master sent every tick to
 * the DLQ as unknown_symbol while ingest said `done`. By default such ticks now pass, enriched with null reference
 * fields; under processor.unknownSymbols=dlq they are dead-lettered as before.
 */
const SYMBOLS = ['ZZQA', 'ZZQB', 'AAPL']; // two the master lacks, one it has
const ROWS = 300;
const T0 = Date.UTC(2024, 4, 6, 14, 30);

let dir = '';
const runs: Array<{ prefix: string }> = [];

async function replayThroughProcessor(unknownSymbols: 'accept' | 'dlq') {
  const prefix = `${uniqueName(`unk-${unknownSymbols}`)}.`;
  runs.push({ prefix });
  const config = loadConfig({
    overrides: {
      ...testStackProfile(),
      topics: { prefix, partitions: 2 },
      processor: { groupId: `${prefix}processor`, unknownSymbols },
    },
  });
  const kafka = kafkaClient(config, 'unknown-symbols-test');
  const log = createLogger({ test: 'unknown-symbols' }, 'error');
  const file = join(dir, 'my-trades.csv');
  const lines = ['symbol,ts,price,size'];
  for (let i = 0; i < ROWS; i++)
    lines.push(`${SYMBOLS[i % 3]},${new Date(T0 + i * 1000).toISOString()},${10 + i / 100},5`);
  await writeFile(file, lines.join('\n') + '\n');
  const source = createReplaySource({ files: [file], progress: false });
  await runIngest({
    config,
    kafka,
    created: { source, universe: [] },
    sourceName: 'my-trades',
    log,
    signal: new AbortController().signal,
    finalWatermark: true,
  });
  const reference = new ReferenceCache(kafka, topicName(config, 'referenceSymbols'), loadShippedReference(), log);
  await reference.start();
  const processor = new StreamProcessor({ config, kafka, reference, log, instanceId: `unk-${unknownSymbols}` });
  await processor.start();
  await waitForCaughtUp(kafka, config.processor.groupId, topicName(config, 'raw'));
  await processor.stop();
  await reference.stop();
  const enriched = (await readTopic(kafka, topicName(config, 'enriched'))).map(
    (m) => JSON.parse(m.value!.toString()) as EnrichedTick,
  );
  const dlq = (await readTopic(kafka, topicName(config, 'dlq'))).map(
    (m) => JSON.parse(m.value!.toString()) as DlqRecord,
  );
  return { enriched, dlq, kafka };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ticklake-unknown-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  const kafka = kafkaClient(loadConfig({ overrides: testStackProfile() }), 'unknown-symbols-cleanup');
  for (const r of runs) await deleteTopicsWithPrefix(kafka, r.prefix);
});

describe('replay of a file with symbols the master lacks', () => {
  it('enriches them with null reference fields by default, none dead-lettered', async () => {
    const { enriched, dlq } = await replayThroughProcessor('accept');
    expect(dlq).toEqual([]);
    expect(enriched).toHaveLength(ROWS);
    const bySymbol = (s: string) => enriched.filter((e) => e.symbol === s);
    expect(bySymbol('ZZQA')).toHaveLength(ROWS / 3);
    expect(bySymbol('ZZQA').every((e) => e.name === null && e.sector === null && e.currency === null)).toBe(true);
    expect(bySymbol('AAPL').every((e) => e.name !== null)).toBe(true);
  });

  it('dead-letters them as unknown_symbol under processor.unknownSymbols=dlq', async () => {
    const { enriched, dlq } = await replayThroughProcessor('dlq');
    expect(enriched.map((e) => e.symbol)).toEqual(Array(ROWS / 3).fill('AAPL'));
    expect(dlq).toHaveLength((2 * ROWS) / 3);
    expect(new Set(dlq.map((d) => d.reason))).toEqual(new Set(['unknown_symbol']));
  });
});
