/**
 * Query results as people and scripts read them (`ticklake query`). The BigQuery client hands back TIMESTAMP, DATE
 * and NUMERIC values as wrapper objects with a `value` string; both outputs show that string.
 */
export function plainValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.map(plainValue);
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('value' in o && Object.keys(o).length === 1) return o.value;
    if (v instanceof Date) return v.toISOString();
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, plainValue(x)]));
  }
  return v;
}

export function plainRows(rows: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plainValue(v)])));
}

const cell = (v: unknown) => (v === null ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** An aligned text table with a header line; numbers right-aligned. */
export function formatTable(rows: readonly Record<string, unknown>[]): string {
  if (rows.length === 0) return '(no rows)\n';
  const plain = plainRows(rows);
  const cols = [...new Set(plain.flatMap((r) => Object.keys(r)))];
  const text = plain.map((r) => cols.map((c) => cell(r[c] ?? null)));
  const widths = cols.map((c, i) => Math.max(c.length, ...text.map((t) => t[i]!.length)));
  const numeric = cols.map((c) => plain.every((r) => r[c] === null || r[c] === undefined || typeof r[c] === 'number'));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [
    line(cols),
    line(widths.map((w) => '-'.repeat(w))),
    ...text.map(line),
    `(${rows.length} row${rows.length === 1 ? '' : 's'})`,
    '',
  ].join('\n');
}
