import { describe, expect, it } from 'vitest';
import { barsTable, rawTable, TABLES, type TableDef } from '../../../lake/tables.ts';
import { dayFingerprint, decideLoad, dueDays, ledgerRowNeeded, type LakeDay } from '../../../warehouse/ledger.ts';
import {
  dedupedDaySelect,
  dayFilter,
  keyExpr,
  ledgerInsertSql,
  replaceDayScript,
  type LedgerEntry,
} from '../../../warehouse/sql.ts';
import {
  daysBetween,
  parseDay,
  stagingTableId,
  tableMetadata,
  WAREHOUSE_TABLES,
  warehouseTable,
} from '../../../warehouse/tables.ts';
import { VIEWS } from '../../../warehouse/views.ts';

const ds = { projectId: 'p', dataset: 'd' };
const range = (start: number, end: number, partition = 0) => ({
  topic: 'ticks.raw',
  partition,
  startOffset: String(start),
  endOffset: String(end),
});
const day = (over: Partial<LakeDay> = {}): LakeDay => ({
  day: '2026-11-20',
  seq: 7,
  dayManifest: 'raw/_manifest/days/aaa.json',
  fingerprint: 'v1-x',
  files: 3,
  rows: 100,
  ...over,
});
const entry = (over: Partial<LedgerEntry> = {}): LedgerEntry => ({
  table: 'ticks',
  day: '2026-11-20',
  lakeTable: 'raw',
  lakeSeq: 7,
  dayManifest: 'raw/_manifest/days/aaa.json',
  fingerprint: 'v1-x',
  outcome: 'loaded',
  files: 3,
  lakeRows: 100,
  rows: 90,
  recordedAt: 0,
  ...over,
});

describe('warehouse tables', () => {
  it('has one table per lake table, partitioned by day on its event time and clustered by symbol', () => {
    expect(WAREHOUSE_TABLES.map((t) => t.lake).sort()).toEqual(Object.keys(TABLES).sort());
    expect(WAREHOUSE_TABLES.map((t) => t.name)).toEqual([
      'ticks',
      'ticks_enriched',
      'bars_1m',
      'alerts',
      'reconciliation',
      'anomalies',
    ]);
    const bars = tableMetadata(warehouseTable('bars_1m'));
    expect(bars.timePartitioning).toEqual({ type: 'DAY', field: 'window_start' });
    expect(bars.clustering).toEqual({ fields: ['symbol'] });
    expect(bars.schema.fields.map((f) => f.name)).toEqual(barsTable.columns.map((c) => c.name));
    expect(warehouseTable('raw').name).toBe('ticks');
    expect(() => warehouseTable('nope')).toThrow(/unknown warehouse table "nope"/);
  });

  it('accepts only real days, spells staging tables from them, and lists ranges inclusively', () => {
    expect(parseDay('2026-11-20')).toBe('2026-11-20');
    for (const bad of ['2026-02-30', '2026-11-20; DROP', '20261120', ''])
      expect(() => parseDay(bad)).toThrow(/not a day/);
    expect(stagingTableId('ticks', '2026-11-20')).toBe('_staging_ticks_20261120');
    expect(daysBetween('2026-02-27', '2026-03-02')).toEqual(['2026-02-27', '2026-02-28', '2026-03-01', '2026-03-02']);
    expect(() => daysBetween('2026-03-02', '2026-03-01')).toThrow(/after/);
  });
});

describe('warehouse SQL', () => {
  it('filters a day as a half-open UTC range (prunable), across month ends', () => {
    expect(dayFilter('ts', '2026-11-30')).toBe(
      "`ts` >= TIMESTAMP '2026-11-30 00:00:00+00' AND `ts` < TIMESTAMP '2026-12-01 00:00:00+00'",
    );
  });

  it('dedupes by the lake’s key: ids for ticks, (symbol, window_start) keeping the highest revision for bars', () => {
    const ticks = dedupedDaySelect(rawTable as TableDef, '`s`', '2026-11-20');
    expect(ticks).toContain('PARTITION BY `id` ORDER BY `symbol` ASC, `ts` ASC');
    const bars = dedupedDaySelect(barsTable as TableDef, '`s`', '2026-11-20');
    expect(bars).toContain('PARTITION BY `symbol`, `window_start` ORDER BY `revision` DESC');
    expect(bars).toContain("`window_start` >= TIMESTAMP '2026-11-20 00:00:00+00'");
    expect(keyExpr(barsTable as TableDef)).toBe(
      "CONCAT(CAST(`symbol` AS STRING), '|', CAST(`window_start` AS STRING))",
    );
  });

  it('replaces one day in one transaction: delete the day, insert the deduplicated staging rows', () => {
    const sql = replaceDayScript(ds, rawTable as TableDef, 'ticks', '_staging_ticks_20261120', '2026-11-20');
    const lines = sql.split('\n');
    expect(lines[0]).toBe('BEGIN TRANSACTION;');
    expect(lines[1]).toMatch(/^DELETE FROM `p\.d\.ticks` WHERE `ts` >= TIMESTAMP '2026-11-20/);
    expect(lines[2]).toMatch(/^INSERT INTO `p\.d\.ticks` \(`id`, `source`.*FROM `p\.d\._staging_ticks_20261120`/);
    expect(lines[3]).toBe('COMMIT TRANSACTION;');
    expect(() => replaceDayScript(ds, rawTable as TableDef, 'ticks', 's', "2026-11-20' OR TRUE --")).toThrow();
  });

  it('quotes ledger strings', () => {
    expect(ledgerInsertSql(ds, entry({ dayManifest: "it's" }))).toContain("'it\\'s'");
  });
});

describe('load ledger decisions', () => {
  it('names the data, not the files: compacted files of the same ranges fingerprint the same', () => {
    const sink = [
      { path: 'raw/dt=2026-11-20/hour=10/a.parquet', rows: 300, sources: [range(0, 299)] },
      { path: 'raw/dt=2026-11-20/hour=10/b.parquet', rows: 300, sources: [range(300, 599)] },
      { path: 'raw/dt=2026-11-20/hour=11/b.parquet', rows: 10, sources: [range(300, 599)] },
    ];
    const compacted = [
      { path: 'raw/dt=2026-11-20/hour=10/compacted-1.parquet', rows: 550, sources: [range(0, 599)] },
      { path: 'raw/dt=2026-11-20/hour=11/compacted-2.parquet', rows: 10, sources: [range(300, 599)] },
    ];
    expect(dayFingerprint(compacted)).toBe(dayFingerprint(sink));
    expect(dayFingerprint([...sink, { path: 'x', rows: 1, sources: [range(600, 600)] }])).not.toBe(
      dayFingerprint(sink),
    );
    expect(dayFingerprint([{ path: 'x', rows: 1, sources: [] }])).not.toBe(
      dayFingerprint([{ path: 'x', rows: 2, sources: [] }]),
    );
  });

  it('loads a day never loaded or changed, forced; skips an unchanged or empty one', () => {
    expect(decideLoad(undefined, day())).toEqual({ action: 'load', reason: 'never_loaded' });
    expect(decideLoad(entry(), day({ fingerprint: 'v1-y' }))).toEqual({ action: 'load', reason: 'lake_changed' });
    expect(decideLoad(entry(), day(), true)).toEqual({ action: 'load', reason: 'forced' });
    expect(decideLoad(entry(), day({ seq: 99 }))).toEqual({ action: 'unchanged', reason: 'same_day' });
    const rewritten = day({ dayManifest: 'raw/_manifest/days/bbb.json' });
    expect(decideLoad(entry(), rewritten)).toEqual({ action: 'unchanged', reason: 'same_data_rewritten' });
    expect(decideLoad(undefined, day({ files: 0 }), true)).toEqual({ action: 'unchanged', reason: 'empty' });
  });

  it('writes a ledger row for every load and for an unchanged day only when its day list changed', () => {
    expect(ledgerRowNeeded({ action: 'load', reason: 'forced' }, entry(), day())).toBe(true);
    expect(ledgerRowNeeded({ action: 'unchanged', reason: 'same_day' }, entry(), day())).toBe(false);
    const rewritten = day({ dayManifest: 'other' });
    expect(ledgerRowNeeded({ action: 'unchanged', reason: 'same_data_rewritten' }, entry(), rewritten)).toBe(true);
  });

  it('proposes the days whose day list the ledger has not seen, in a range', () => {
    const days = [
      { day: '2026-11-19', manifest: 'a' },
      { day: '2026-11-21', manifest: 'c2' },
      { day: '2026-11-20', manifest: 'b' },
    ];
    const latest = new Map([
      ['2026-11-20', { dayManifest: 'b' }],
      ['2026-11-21', { dayManifest: 'c1' }],
    ]);
    expect(dueDays(days, latest)).toEqual(['2026-11-19', '2026-11-21']);
    expect(dueDays(days, latest, { from: '2026-11-20' })).toEqual(['2026-11-21']);
  });
});

describe('analyst views', () => {
  it('are declared once each and read only the dataset’s own tables and views', () => {
    expect(VIEWS.map((v) => v.name)).toEqual(['daily_ohlcv', 'top_movers', 'vwap_deviation', 'data_quality']);
    const names = new Set([...WAREHOUSE_TABLES.map((t) => t.name), '_load_ledger', ...VIEWS.map((v) => v.name)]);
    VIEWS.forEach((v, i) => {
      const refs = [...v.sql(ds).matchAll(/`p\.d\.(\w+)`/g)].map((m) => m[1]!);
      expect(refs.length).toBeGreaterThan(0);
      for (const r of refs) {
        expect(names.has(r), `${v.name} reads ${r}`).toBe(true);
        // A view reads only views declared before it (apply creates them in order).
        const j = VIEWS.findIndex((x) => x.name === r);
        expect(j).toBeLessThan(i);
      }
    });
    expect(VIEWS.find((v) => v.name === 'data_quality')!.description).toMatch(/no DLQ or late table/);
  });
});
