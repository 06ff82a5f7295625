import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../infra/config.ts';
import {
  emptyOutputs,
  PartitionPipeline,
  pipelineOptionsFrom,
  type PipelineOptions,
  type RawRecord,
} from '../../../core/pipeline.ts';
import { HEARTBEAT_KEY, heartbeatValue } from '../../../core/schemas/heartbeat.ts';
import type { ReferenceSymbol } from '../../../core/schemas/reference.ts';
import type { Tick } from '../../../core/schemas/tick.ts';
import { MIN, SEC, T0, quote, trade } from './fixtures.ts';

const OPTIONS: PipelineOptions = pipelineOptionsFrom(loadConfig({ env: {} }));
const REF = new Map<string, ReferenceSymbol>([
  ['AAPL', { symbol: 'AAPL', name: 'Apple', sector: 'Tech', exchange: 'XNAS', currency: 'USD', beta: 1.2 }],
]);

let offset = 0;
function rec(value: Tick | string, key: string | null = typeof value === 'string' ? null : value.symbol): RawRecord {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const ts = typeof value === 'string' ? T0 : value.ts;
  return { key, value: Buffer.from(text), offset: String(offset++), timestampMs: ts / 1000 };
}

function run(pipeline: PartitionPipeline, records: RawRecord[], reference = REF) {
  const out = emptyOutputs();
  for (const r of records) pipeline.process(r, reference, 42, out);
  return out;
}

describe('PartitionPipeline', () => {
  it('validates, dedupes, enriches and closes bars on a heartbeat', () => {
    const p = PartitionPipeline.create(OPTIONS);
    const t1 = trade('AAPL', 1, T0 + SEC, 100, 10);
    const out = run(p, [
      rec(quote('AAPL', 0, T0, 99.5, 100.5)),
      rec(t1),
      rec(t1), // redelivered
      rec('{not json'),
      rec(trade('AAPL', 2, T0 + 2 * SEC, 102, 30)),
      rec(heartbeatValue('test', T0 + 2 * MIN + 10 * SEC), HEARTBEAT_KEY),
    ]);
    expect(out.duplicates).toBe(1);
    expect(out.rejected.map((r) => r.reason)).toEqual(['invalid_json']);
    expect(out.heartbeats).toBe(1);
    expect(out.enriched.map((e) => [e.id, e.name, e.mid, e.processedTs])).toEqual([
      ['test:AAPL:0', 'Apple', 100, 42],
      ['test:AAPL:1', 'Apple', 100, 42],
      ['test:AAPL:2', 'Apple', 100, 42],
    ]);
    expect(out.bars).toHaveLength(1);
    expect(out.bars[0]).toMatchObject({ symbol: 'AAPL', open: 100, close: 102, volume: 40, trades: 2, revision: 0 });
    expect(p.nextOffset).toBe(String(offset));
  });

  it('accepts unknown symbols by default, enriched with nulls, and counts them', () => {
    const p = PartitionPipeline.create(OPTIONS);
    const out = run(p, [rec(trade('ZZZZ', 1, T0, 5, 1)), rec(trade('ZZZZ', 2, T0 + SEC, 5, 1))]);
    expect(out.rejected).toEqual([]);
    expect(out.enriched.map((e) => [e.symbol, e.name, e.sector, e.currency])).toEqual([
      ['ZZZZ', null, null, null],
      ['ZZZZ', null, null, null],
    ]);
    expect([...out.unknownSymbols]).toEqual([['ZZZZ', 2]]);
  });

  it('dead-letters unknown symbols under the dlq policy, changing no state', () => {
    const p = PartitionPipeline.create({ ...OPTIONS, unknownSymbols: 'dlq' });
    const before = JSON.stringify({ ...p.snapshot(), nextOffset: '' });
    const out = run(p, [rec(trade('ZZZZ', 1, T0, 5, 1))]);
    expect(out.rejected.map((r) => [r.reason, r.detail])).toEqual([
      ['unknown_symbol', 'symbol "ZZZZ" is not in the symbol master'],
    ]);
    expect(out.enriched).toEqual([]);
    expect(out.unknownSymbols.size).toBe(0);
    expect(JSON.stringify({ ...p.snapshot(), nextOffset: '' })).toBe(before);
  });

  it('continues from a snapshot exactly as an uninterrupted run', () => {
    const input = Array.from({ length: 40 }, (_, i) => trade('AAPL', i, T0 + i * 7 * SEC, 100 + (i % 5), 1 + i));
    const records = input.map((t) => rec(t));
    records.splice(20, 0, rec(input[3]!)); // a duplicate across the cut
    const whole = run(PartitionPipeline.create(OPTIONS), records);

    const first = PartitionPipeline.create(OPTIONS);
    const a = run(first, records.slice(0, 25));
    const snap = JSON.parse(JSON.stringify(first.snapshot())) as unknown;
    const b = run(PartitionPipeline.restore(OPTIONS, snap), records.slice(25));
    expect([...a.enriched, ...b.enriched]).toEqual(whole.enriched);
    expect([...a.bars, ...b.bars]).toEqual(whole.bars);
    expect(a.duplicates + b.duplicates).toBe(whole.duplicates);
    expect(whole.duplicates).toBe(1);
  });

  it('refuses a checkpoint that does not parse as one', () => {
    const p = PartitionPipeline.create(OPTIONS);
    const snap = { ...p.snapshot(), nextOffset: 'twelve' };
    expect(() => PartitionPipeline.restore(OPTIONS, snap)).toThrow(/nextOffset/);
  });

  it('passes late trades through as late, not enriched', () => {
    const p = PartitionPipeline.create(OPTIONS);
    const out = run(p, [
      rec(trade('AAPL', 1, T0 + SEC, 100, 1)),
      rec(trade('AAPL', 2, T0 + 10 * MIN, 100, 1)),
      rec(trade('AAPL', 3, T0 + 2 * SEC, 100, 1)), // its window closed minutes ago
    ]);
    expect(out.late.map((l) => [l.tick.id, l.reason, l.windowStart])).toEqual([['test:AAPL:3', 'window_closed', T0]]);
    expect(out.enriched.map((e) => e.id)).toEqual(['test:AAPL:1', 'test:AAPL:2']);
  });
});
