import { afterAll, describe, expect, it } from 'vitest';
import { isTickLakeError } from '../../../../core/errors.ts';
import { decodeParquet } from '../../../../lake/parquet.ts';
import { fromRecordBatch } from '../../../../lake/columns.ts';
import { rawTable } from '../../../../lake/tables.ts';
import { encode } from '../../../../lake/writer.ts';
import { encodeBlock, packBlock } from '../../../../streaming/sink/encode-block.ts';
import { EncoderPool } from '../../../../streaming/sink/encoder-pool.ts';
import { makeTicks, T0 } from '../../lake/fixtures.ts';

const range = { topic: 'ticks.raw', partition: 3, startOffset: '100', endOffset: '119' };
// Two event hours, so the block becomes two files.
const ticks = [
  ...makeTicks(12, { startUs: T0, spanUs: 3_000_000_000 }),
  ...makeTicks(6, { startUs: T0 + 3_700_000_000, seq0: 100 }),
];
const bad = [Buffer.from('{"not":"a tick"'), null];
// Records in offset order: the two bad ones sit at positions 4 and 11.
const values: Array<Buffer | null> = ticks.map((t) => Buffer.from(JSON.stringify(t)));
values.splice(4, 0, bad[0]!);
values.splice(11, 0, bad[1]!);

describe('packBlock', () => {
  it('keeps every value, its length, and nulls apart from empty values', () => {
    const block = packBlock([Buffer.from('ab'), null, Buffer.alloc(0), Buffer.from('c')]);
    expect([...block.lengths]).toEqual([2, -1, 0, 1]);
    expect(Buffer.from(block.bytes).toString()).toBe('abc');
  });
});

describe('encodeBlock', () => {
  it('writes the same files as the lake writer for the rows that fit, and reports the rest by position', () => {
    const out = encodeBlock('raw', packBlock(values), range);
    expect(out.rows).toBe(ticks.length);
    expect(out.rejects.map((r) => r.index)).toEqual([4, 11]);
    expect(out.rejects.every((r) => r.reason === 'table_schema_mismatch')).toBe(true);
    expect(out.rejects[0]!.detail).toMatch(/JSON/);
    const expected = encode(rawTable, ticks, range);
    expect(out.files.map((f) => f.key)).toEqual(expected.map((f) => f.key));
    expect(out.files.map((f) => f.stats)).toEqual(expected.map((f) => f.stats));
    const ids = out.files.flatMap((f) => decodeParquet(f.body).flatMap((b) => fromRecordBatch(rawTable.columns, b).id));
    expect(ids.sort()).toEqual(ticks.map((t) => t.id).sort());
  });
});

describe('EncoderPool', () => {
  const pool = new EncoderPool(2);
  afterAll(() => pool.close());

  it('encodes on its threads exactly what encodeBlock computes inline', async () => {
    await pool.start();
    const [a, b] = await Promise.all([
      pool.encode(0, 'raw', packBlock(values), range),
      pool.encode(1, 'raw', packBlock(values.slice(0, 5)), { ...range, endOffset: '104' }),
    ]);
    const inline = encodeBlock('raw', packBlock(values), range);
    expect(a.rejects).toEqual(inline.rejects);
    expect(a.files.map((f) => [f.key, f.stats, f.rowGroups, f.symbols])).toEqual(
      inline.files.map((f) => [f.key, f.stats, f.rowGroups, f.symbols]),
    );
    expect(Buffer.from(a.files[0]!.body).equals(Buffer.from(inline.files[0]!.body))).toBe(true);
    expect(b.rows).toBe(4);
  });

  it('points at the thread with the least work queued', async () => {
    await pool.start();
    const first = pool.encode(pool.leastBusy(), 'raw', packBlock(values), range);
    const second = pool.leastBusy();
    const queued = pool.encode(second, 'raw', packBlock(values), range);
    expect(second).toBe(1);
    // Both busy with one block each: the first again.
    expect(pool.leastBusy()).toBe(0);
    await Promise.all([first, queued]);
  });

  it('fails the blocks of a thread that dies and replaces the thread on the next request', async () => {
    // Big enough to keep the thread busy for a while: it dies with the block in flight.
    const big = makeTicks(100_000).map((t) => Buffer.from(JSON.stringify(t)));
    const failing = pool.encode(0, 'raw', packBlock(big), { ...range, endOffset: '100099' });
    // A thread lost mid-flight, as after a crash: its pending blocks fail, they don't hang.
    await (
      pool as unknown as { workers: Array<{ worker: { terminate(): Promise<number> } }> }
    ).workers[0]!.worker.terminate();
    const err: unknown = await failing.catch((e: unknown) => e);
    expect(String(err)).toMatch(/exited/);
    // Retryable: the sink's retry loop runs the flush again on the replacement thread instead of giving up.
    expect(isTickLakeError(err, 'WORKER_FAILED') && err.retryable).toBe(true);
    const again = await pool.encode(0, 'raw', packBlock(values), range);
    expect(again.rows).toBe(ticks.length);
  });
});
