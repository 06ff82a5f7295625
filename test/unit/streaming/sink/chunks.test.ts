import { describe, expect, it } from 'vitest';
import { chunksOf, type PartitionBuffer } from '../../../../streaming/sink/chunks.ts';

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
