import { expect } from 'vitest';
import { type TableDef } from '../../../../lake/tables.ts';
import { runPythonJson } from '../../../support/pyarrow.ts';
import { type LakeFile, type Summary, expectedSummary, expectSameSummary } from './rows.ts';

/** Reading lake files with pyarrow and DuckDB, and what their physical schema must be. */
export const ARROW_TYPES: Record<string, string> = {
  ts: 'timestamp[us, tz=UTC]',
  f64: 'double',
  i64: 'int64',
  i32: 'int32',
  string: 'string',
  dict: 'string',
  strlist: 'list<element: string>',
};

// ---- pyarrow ---------------------------------------------------------------------------------------------

export interface PyRowGroup {
  rows: number;
  codecs: string[];
  tsStats: [string, string] | null;
  tsData: [string, string];
  symbolStats: [string, string] | null;
  symbolData: [string, string];
  symbolEncodings: string[];
  symbolDictionaryPage: boolean;
}
export interface PyReport {
  summary: Summary;
  schema: [name: string, type: string, nullable: boolean][];
  parquetTypes: Record<string, [physical: string, logical: string]>;
  kv: Record<string, string>;
  rowGroups: PyRowGroup[];
}

export const PYARROW_REPORT = String.raw`
import json, math, sys
import pyarrow as pa, pyarrow.parquet as pq

def summarize(table, spec):
    cols = {}
    for name, kind in spec['columns']:
        col = table.column(name)
        if kind in ('ts', 'i64', 'i32'):
            v = [x for x in col.cast(pa.int64()).to_pylist() if x is not None]
            cols[name] = {'nonNull': len(v), 'min': str(min(v)) if v else None, 'max': str(max(v)) if v else None, 'sum': str(sum(v))}
        elif kind == 'f64':
            v = [x for x in col.to_pylist() if x is not None]
            cols[name] = {'nonNull': len(v), 'min': min(v) if v else None, 'max': max(v) if v else None, 'sum': math.fsum(v)}
        elif kind == 'strlist':
            v = [x for x in col.to_pylist() if x is not None]
            cols[name] = {'nonNull': len(v), 'elements': sum(len(x) for x in v)}
        else:
            v = [x for x in col.to_pylist() if x is not None]
            cols[name] = {'nonNull': len(v), 'distinct': len(set(v)), 'min': min(v) if v else None, 'max': max(v) if v else None}
    keys = set(zip(*[table.column(k).to_pylist() for k in spec['key']]))
    symbols = sorted(set(table.column(spec['symbol']).to_pylist()))
    return {'rows': table.num_rows, 'keys': len(keys), 'symbols': symbols, 'columns': cols}

def report(spec):
    pf = pq.ParquetFile(spec['path'])
    md = pf.metadata
    index = {md.schema.column(i).path: i for i in range(md.num_columns)}
    parquet_types = {}
    for i in range(md.num_columns):
        c = md.schema.column(i)
        parquet_types[c.path] = [c.physical_type, str(c.logical_type)]
    groups = []
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        def stats(name, raw):
            st = rg.column(index[name]).statistics
            if st is None or not st.has_min_max:
                return None
            return [str(st.min_raw), str(st.max_raw)] if raw else [st.min, st.max]
        data = pf.read_row_group(g, columns=[spec['time'], spec['symbol']])
        t = data.column(0).cast(pa.int64()).to_pylist()
        s = data.column(1).to_pylist()
        sym = rg.column(index[spec['symbol']])
        groups.append({
            'rows': rg.num_rows,
            'codecs': sorted({rg.column(j).compression for j in range(rg.num_columns)}),
            'tsStats': stats(spec['time'], True),
            'tsData': [str(min(t)), str(max(t))],
            'symbolStats': stats(spec['symbol'], False),
            'symbolData': [min(s), max(s)],
            'symbolEncodings': sorted(sym.encodings),
            'symbolDictionaryPage': sym.has_dictionary_page,
        })
    kv = {k.decode(): v.decode() for k, v in (md.metadata or {}).items() if not k.startswith(b'ARROW:')}
    return {
        'summary': summarize(pf.read(), spec),
        'schema': [[f.name, str(f.type), f.nullable] for f in pf.schema_arrow],
        'parquetTypes': parquet_types,
        'kv': kv,
        'rowGroups': groups,
    }

print(json.dumps([report(spec) for spec in json.loads(sys.argv[1])]))
`;

export function readWithPyarrow(python: string, files: readonly LakeFile[]): Promise<PyReport[]> {
  const specs = files.map((f) => ({
    path: f.path,
    columns: f.def.columns.map((c) => [c.name, c.kind]),
    key: f.def.dedupeKey,
    time: f.def.timeColumn,
    symbol: f.def.symbolColumn,
  }));
  return runPythonJson<PyReport[]>(python, PYARROW_REPORT, [JSON.stringify(specs)]);
}

export function expectPyarrowReads(f: LakeFile, got: PyReport): void {
  const { def, label } = f;
  expect(got.kv, label).toEqual({ 'ticklake.table': def.name, 'ticklake.schema_version': String(def.version) });
  expect(
    got.schema.map(([name, type]) => [name, type]),
    label,
  ).toEqual(def.columns.map((c) => [c.name, ARROW_TYPES[c.kind]]));
  // Every column is OPTIONAL in every file: DuckDB can write nothing else, and the sink's writer matches it.
  expect(
    got.schema.map(([, , n]) => n),
    label,
  ).toEqual(def.columns.map(() => true));
  for (const c of def.columns.filter((c) => c.kind !== 'strlist')) {
    const [physical, logical] = got.parquetTypes[c.name]!;
    if (c.kind === 'ts') {
      expect(physical, `${label} ${c.name}`).toBe('INT64');
      expect(logical, `${label} ${c.name}`).toMatch(/^Timestamp\(isAdjustedToUTC=true, timeUnit=microseconds/);
    }
    if (c.kind === 'f64') expect(physical, `${label} ${c.name}`).toBe('DOUBLE');
    if (c.kind === 'dict') expect([physical, logical], `${label} ${c.name}`).toEqual(['BYTE_ARRAY', 'String']);
  }
  expect(
    got.rowGroups.map((g) => ({
      rows: g.rows,
      minTs: Number(g.tsData[0]),
      maxTs: Number(g.tsData[1]),
      minSymbol: g.symbolData[0],
      maxSymbol: g.symbolData[1],
    })),
    `${label}: row groups as the manifest records them`,
  ).toEqual(f.rowGroups);
  for (const g of got.rowGroups) {
    expect(g.codecs, label).toEqual(['ZSTD']);
    expect(g.tsStats, `${label}: ts statistics`).toEqual(g.tsData);
    expect(g.symbolStats, `${label}: symbol statistics`).toEqual(g.symbolData);
    expect(g.symbolDictionaryPage, `${label}: symbol dictionary page`).toBe(true);
    expect(
      g.symbolEncodings.some((e) => /DICTIONARY/.test(e)),
      `${label}: ${g.symbolEncodings.join(',')}`,
    ).toBe(true);
  }
  expectSameSummary(got.summary, expectedSummary(def, f.rows), label);
}

// ---- DuckDB ----------------------------------------------------------------------------------------------

export const DUCKDB_TYPES: Record<string, string> = {
  ts: 'TIMESTAMP WITH TIME ZONE',
  f64: 'DOUBLE',
  i64: 'BIGINT',
  i32: 'INTEGER',
  string: 'VARCHAR',
  dict: 'VARCHAR',
  strlist: 'VARCHAR[]',
};

export const q = (name: string) => `"${name.replaceAll('"', '""')}"`;

export function summarySql(def: TableDef, src: string): string {
  const parts = def.columns.flatMap((c, i) => {
    const col = q(c.name);
    const nonNull = `count(${col})::INTEGER AS "${i}.nonNull"`;
    const int = c.kind === 'ts' ? `epoch_us(${col})` : col;
    switch (c.kind) {
      case 'ts':
      case 'i64':
      case 'i32':
        return [
          nonNull,
          `min(${int})::VARCHAR AS "${i}.min"`,
          `max(${int})::VARCHAR AS "${i}.max"`,
          `coalesce(sum(${int}), 0)::VARCHAR AS "${i}.sum"`,
        ];
      case 'f64':
        return [
          nonNull,
          `min(${col}) AS "${i}.min"`,
          `max(${col}) AS "${i}.max"`,
          `coalesce(sum(${col}), 0)::DOUBLE AS "${i}.sum"`,
        ];
      case 'strlist':
        return [nonNull, `coalesce(sum(len(${col})), 0)::INTEGER AS "${i}.elements"`];
      default:
        return [
          nonNull,
          `count(DISTINCT ${col})::INTEGER AS "${i}.distinct"`,
          `min(${col}) AS "${i}.min"`,
          `max(${col}) AS "${i}.max"`,
        ];
    }
  });
  const keys = def.dedupeKey.map(q).join(', ');
  return `SELECT count(*)::INTEGER AS rows,
      (SELECT count(*)::INTEGER FROM (SELECT DISTINCT ${keys} FROM ${src})) AS keys,
      (SELECT list(s ORDER BY s) FROM (SELECT DISTINCT ${q(def.symbolColumn)} AS s FROM ${src})) AS symbols,
      ${parts.join(',\n      ')}
    FROM ${src}`;
}
