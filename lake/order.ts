import type { CellValue, Columns } from './columns.ts';
import type { TableDef } from './tables.ts';

/**
 * Row order and duplicates, as pure functions over columns: files are sorted by (symbol, event time) and
 * compaction keeps one row per dedupe key. Both are deterministic, so re-encoding the same rows gives the
 * same file.
 */
function compareCells(a: CellValue, b: CellValue): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** The columns rows are sorted by: symbol, event time, then the dedupe key (without the symbol again). */
export function sortColumns(def: TableDef): string[] {
  return [def.symbolColumn, def.timeColumn, ...def.dedupeKey.filter((k) => k !== def.symbolColumn)];
}

/**
 * Row indices sorted by symbol, then event time, then dedupe key (ties keep input order); of `subset` when given
 * (the rows of one partition, say), else of all `rows`.
 */
export function sortOrder(def: TableDef, cols: Columns, rows: number, subset?: ArrayLike<number>): Uint32Array {
  const keys = sortColumns(def).map((k) => cols[k] ?? []);
  const idx = subset ? Array.from(subset) : Array.from({ length: rows }, (_, i) => i);
  idx.sort((x, y) => {
    for (let k = 0; k < keys.length; k++) {
      const col = keys[k]!;
      const c = compareCells(col[x] ?? null, col[y] ?? null);
      if (c !== 0) return c;
    }
    return x - y;
  });
  return Uint32Array.from(idx);
}

/**
 * From `order`, keeps one index per dedupe key: the one with the highest `keepMax` value, or the first in
 * `order` when the table has none (duplicates of an event are the same event). Order is preserved.
 * Compaction does this in DuckDB (lake/duckdb-rewrite.ts); this is the reference its tests compare against.
 */
export function dedupe(def: TableDef, cols: Columns, order: ArrayLike<number>): Uint32Array {
  const keyCols = def.dedupeKey.map((k) => cols[k] ?? []);
  const keepMax = def.keepMax ? (cols[def.keepMax] ?? []) : null;
  const chosen = new Map<string, number>();
  const keyOf = (i: number) =>
    keyCols.length === 1 ? String(keyCols[0]![i]) : keyCols.map((c) => String(c[i])).join('\u0000');
  for (let j = 0; j < order.length; j++) {
    const i = order[j]!;
    const k = keyOf(i);
    const prev = chosen.get(k);
    if (prev === undefined) chosen.set(k, i);
    else if (keepMax && compareCells(keepMax[i] ?? null, keepMax[prev] ?? null) > 0) chosen.set(k, i);
  }
  const keep = new Set(chosen.values());
  const out: number[] = [];
  for (let j = 0; j < order.length; j++) if (keep.has(order[j]!)) out.push(order[j]!);
  return Uint32Array.from(out);
}
