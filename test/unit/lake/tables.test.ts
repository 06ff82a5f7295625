import { describe, expect, it } from 'vitest';
import { isTickLakeError } from '../../../core/errors.ts';
import {
  TABLES,
  checkEvolution,
  rawTable,
  rowProblem,
  storedSchema,
  toColumns,
  validateTableDef,
  type StoredSchema,
  type TableDef,
} from '../../../lake/tables.ts';
import { makeTicks } from './fixtures.ts';

const base = storedSchema(rawTable);
const withCols = (version: number, columns: StoredSchema['columns']): StoredSchema => ({ version, columns });

describe('table declarations', () => {
  // Checked here rather than at import time, so importing the tables never throws in production.
  it('are valid table definitions', () => {
    for (const def of Object.values(TABLES)) expect(() => validateTableDef(def as TableDef)).not.toThrow();
  });

  it("declares the sink tables and the batch layer's (reconciliation, anomalies) with a time, symbol and dedupe key each", () => {
    expect(Object.keys(TABLES)).toEqual(['raw', 'enriched', 'bars', 'alerts', 'reconciliation', 'anomalies']);
    expect(TABLES.bars.dedupeKey).toEqual(['symbol', 'window_start']);
    expect(TABLES.bars.keepMax).toBe('revision');
    // A re-run of a range replaces its row: the latest run wins.
    expect(TABLES.reconciliation.keepMax).toBe('run_ts');
  });

  it('maps trades and quotes into one row shape with nulls on the other side', () => {
    const [trade, , quote] = makeTicks(3);
    const cols = toColumns(rawTable, [trade!, quote!]);
    expect(cols.price).toEqual([trade!.type === 'trade' ? trade!.price : 0, null]);
    expect(cols.bid![0]).toBeNull();
    expect(cols.recv_ts).toEqual([trade!.recvTs, quote!.recvTs]);
  });

  it('names the row and column of a row that does not fit', () => {
    const ticks = makeTicks(2);
    const bad = { ...ticks[1]!, ts: 'yesterday' } as never;
    expect(rowProblem(rawTable, bad)).toBe('ts must be an integer');
    try {
      toColumns(rawTable, [ticks[0]!, bad]);
      expect.unreachable();
    } catch (err) {
      expect(isTickLakeError(err, 'INPUT_INVALID')).toBe(true);
      expect((err as Error).message).toMatch(/row 1: ts must be an integer/);
    }
  });
});

describe('schema evolution', () => {
  it('accepts appending nullable columns, in either direction of a rolling deploy', () => {
    const next = withCols(2, [...base.columns, { name: 'venue', kind: 'dict', nullable: true }]);
    expect(() => checkEvolution('raw', base, next)).not.toThrow();
    expect(() => checkEvolution('raw', next, base)).not.toThrow();
  });

  it.each([
    ['a dropped column', withCols(2, base.columns.slice(0, -1)), /ask_size was dropped/],
    [
      'a retyped column',
      withCols(
        2,
        base.columns.map((c) => (c.name === 'seq' ? { ...c, kind: 'i32' as const } : c)),
      ),
      /seq changed type/,
    ],
    [
      'a required new column',
      withCols(2, [...base.columns, { name: 'venue', kind: 'dict', nullable: false }]),
      /venue must be nullable/,
    ],
    [
      'a renamed column',
      withCols(
        2,
        base.columns.map((c) => (c.name === 'bid' ? { ...c, name: 'bid_px' } : c)),
      ),
      /is bid_px in v2/,
    ],
    [
      'a changed list under the same version',
      withCols(1, [...base.columns, { name: 'x', kind: 'f64', nullable: true }]),
      /bump the version/,
    ],
  ])('rejects %s', (_what, next, message) => {
    expect(() => checkEvolution('raw', base, next)).toThrow(message);
  });
});
