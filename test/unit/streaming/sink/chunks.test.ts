import { describe, expect, it } from 'vitest';
import { chunksOf, deadLettersOf, flushDue, type PartitionBuffer } from '../../../../streaming/sink/chunks.ts';

/** A buffer of records of the given sizes at the given offsets, covering [first, last]. */
function buffer(sizes: number[], offsets: number[], first: number, last: number): PartitionBuffer {
  return {
    values: sizes.map((n) => Buffer.alloc(n)),
    keys: sizes.map(() => null),
    offsets: offsets.map(String),
    bytes: sizes.reduce((a, b) => a + b, 0),
    firstOffset: String(first),
    lastOffset: String(last),
    openedAt: 0,
  };
}

const spans = (b: PartitionBuffer, maxRows: number, maxBytes: number) =>
  chunksOf('t', 3, b, maxRows, maxBytes).map((c) => [c.from, c.to, c.range.startOffset, c.range.endOffset]);

describe('chunksOf (a flush split into bounded encodes)', () => {
  it('keeps a buffer within the bounds as one chunk covering its whole range', () => {
    expect(spans(buffer([10, 10, 10], [5, 6, 7], 5, 9), 10, 100)).toEqual([[0, 3, '5', '9']]);
  });

  it('cuts by row count with contiguous ranges; gaps (control records) stay inside a range', () => {
    // Offsets 12 and 15 are control records (heartbeats): covered by the ranges, not by records.
    const b = buffer([1, 1, 1, 1, 1], [10, 11, 13, 14, 16], 10, 17);
    expect(spans(b, 2, 100)).toEqual([
      [0, 2, '10', '11'],
      [2, 4, '12', '14'],
      [4, 5, '15', '17'],
    ]);
  });

  it('cuts by bytes, and a record larger than the bound is a chunk of its own', () => {
    const b = buffer([40, 40, 40, 500, 10], [0, 1, 2, 3, 4], 0, 4);
    expect(spans(b, 100, 100)).toEqual([
      [0, 2, '0', '1'],
      [2, 3, '2', '2'],
      [3, 4, '3', '3'],
      [4, 5, '4', '4'],
    ]);
  });

  it('keeps a buffer of control records only as one empty chunk, so its offsets still advance', () => {
    expect(spans(buffer([], [], 20, 24), 2, 100)).toEqual([[0, 0, '20', '24']]);
  });
});

describe('the flush policy and dead letters of a flush', () => {
  const bounds = { maxRows: 3, maxBytes: 100, maxAgeMs: 1000, maxPendingBytes: 1000 };

  it('flushes at a row or byte bound, at the memory bound, or (not size-only) when a buffer is old', () => {
    const small = buffer([10], [0], 0, 0);
    expect(flushDue([small], bounds, 500, false)).toBe(false);
    expect(flushDue([small], bounds, 1000, false)).toBe(true);
    expect(flushDue([small], bounds, 1000, true)).toBe(false);
    expect(flushDue([buffer([1, 1, 1], [0, 1, 2], 0, 2)], bounds, 0, true)).toBe(true);
    expect(flushDue([buffer([100], [0], 0, 0)], bounds, 0, true)).toBe(true);
    expect(
      flushDue([buffer([90], [0], 0, 0), buffer([90], [0], 0, 0)], { ...bounds, maxPendingBytes: 150 }, 0, true),
    ).toBe(true);
  });

  it("maps each chunk's rejected indices back to the record's offset, key and bytes", () => {
    const b = buffer([1, 2, 3, 4], [10, 11, 13, 14], 10, 14);
    b.keys[3] = Buffer.from('AAPL');
    const chunks = chunksOf('t', 3, b, 2, 100);
    const noFiles = { files: [], rows: 0 };
    const letters = deadLettersOf(chunks, [
      { ...noFiles, rejects: [] },
      { ...noFiles, rejects: [{ index: 1, reason: 'table_schema_mismatch', detail: 'ts must be an integer' }] },
    ]);
    expect(letters).toEqual([
      {
        partition: 3,
        offset: '14',
        key: 'AAPL',
        value: b.values[3],
        reason: 'table_schema_mismatch',
        detail: 'ts must be an integer',
      },
    ]);
  });
});
