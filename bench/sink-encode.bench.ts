/**
 * The sink's encode step (one flush's record bytes -> sorted Parquet files) next to two ways of handing the Parquet
 * work to DuckDB, all on the same raw tick records, each run on one thread as an encoder thread would (DuckDB with
 * threads=1). The evidence behind docs/DECISIONS.md §16; no stack needed.
 *
 *   node --import tsx bench/sink-encode.bench.ts [rows] [runs]
 */
import {
  BIGINT,
  DOUBLE,
  DuckDBDataChunk,
  DuckDBInstance,
  DuckDBTimestampTZValue,
  LIST,
  TIMESTAMPTZ,
  VARCHAR,
  listValue,
  type DuckDBType,
} from '@duckdb/node-api';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeRawTick, validationLimitsSchema } from '../core/validate.ts';
import type { ColumnKind } from '../lake/columns.ts';
import { rawTable, toColumns } from '../lake/tables.ts';
import { encode } from '../lake/writer.ts';
import { encodeBlock, packBlock } from '../streaming/sink/encode-block.ts';
import { machine, median, syntheticTicks } from './lake-bench-util.ts';

const N = Number(process.argv[2] ?? 200_000);
const RUNS = Number(process.argv[3] ?? 5);
const LIMITS = validationLimitsSchema.parse({ maxBytes: 8 << 20, maxAheadUs: null, maxBehindUs: null });
const values = syntheticTicks(N).map((t) => Buffer.from(JSON.stringify(t)));
const range = { topic: 'ticks.raw', partition: 0, startOffset: '0', endOffset: String(N - 1) };
const dir = mkdtempSync(join(tmpdir(), 'sink-encode-bench-'));
const db = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await db.connect();

const DUCK: Record<ColumnKind, DuckDBType> = {
  string: VARCHAR,
  dict: VARCHAR,
  f64: DOUBLE,
  i64: BIGINT,
  i32: BIGINT,
  ts: TIMESTAMPTZ,
  strlist: LIST(VARCHAR),
};
const OUT = join(dir, 'out.parquet');
const COPY = `(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 131072)`;

function decodeAll() {
  return values.map((v) => {
    const d = decodeRawTick(v, LIMITS, 0);
    if (!d.ok) throw new Error(d.detail);
    return d.tick;
  });
}

// Validated records' own JSON read by DuckDB: needs the JSON field of every column spelled out in SQL.
const NDJSON_COLUMNS = `{id:'VARCHAR',source:'VARCHAR',symbol:'VARCHAR',seq:'BIGINT',type:'VARCHAR',ts:'BIGINT',
  recvTs:'BIGINT',exchange:'VARCHAR',conditions:'VARCHAR[]',price:'DOUBLE',size:'DOUBLE',bid:'DOUBLE',
  bidSize:'DOUBLE',ask:'DOUBLE',askSize:'DOUBLE'}`;
async function duckdbFromJson(): Promise<number> {
  const nl = Buffer.from('\n');
  const lines: Buffer[] = [];
  for (const v of values) if (decodeRawTick(v, LIMITS, 0).ok) lines.push(v, nl);
  const file = join(dir, 'in.ndjson');
  writeFileSync(file, Buffer.concat(lines));
  await con.run(`COPY (SELECT id, source, symbol, seq, type, make_timestamptz(ts) AS ts, make_timestamptz(recvTs) AS recv_ts,
      exchange, conditions, price, size, bid, bidSize AS bid_size, ask, askSize AS ask_size
    FROM read_ndjson('${file}', columns = ${NDJSON_COLUMNS}) ORDER BY symbol, ts) TO '${OUT}' ${COPY}`);
  return readFileSync(OUT).length;
}

// Our columns (the table's getters) appended as DuckDB data chunks: the table described once, in lake/tables.ts.
async function duckdbFromChunks(): Promise<number> {
  const cols = toColumns(rawTable, decodeAll());
  const ddl = rawTable.columns.map((c) => `${c.name} ${DUCK[c.kind].toString()}`).join(', ');
  await con.run(`CREATE OR REPLACE TABLE rows (${ddl})`);
  const appender = await con.createAppender('rows');
  const types = rawTable.columns.map((c) => DUCK[c.kind]);
  for (let from = 0; from < N; from += 2048) {
    const to = Math.min(N, from + 2048);
    const chunk = DuckDBDataChunk.create(types, to - from);
    rawTable.columns.forEach((c, i) => {
      const slice = cols[c.name]!.slice(from, to);
      const mapped =
        c.kind === 'ts'
          ? slice.map((v) => (v === null ? null : new DuckDBTimestampTZValue(BigInt(v as number))))
          : c.kind === 'i64' || c.kind === 'i32'
            ? slice.map((v) => (v === null ? null : BigInt(v as number)))
            : c.kind === 'strlist'
              ? slice.map((v) => (v === null ? null : listValue(v as string[])))
              : slice;
      chunk.setColumnValues(i, mapped as never);
    });
    appender.appendDataChunk(chunk);
  }
  appender.flushSync();
  appender.closeSync();
  await con.run(`COPY (SELECT * FROM rows ORDER BY symbol, ts) TO '${OUT}' ${COPY}`);
  return readFileSync(OUT).length;
}

const decoded = decodeAll();
const variants: Array<[string, () => Promise<number>]> = [
  [
    'sink encodeBlock (decode, validate, columns, sort, parquet-wasm)',
    async () => encodeBlock('raw', packBlock(values), range).files.reduce((n, f) => n + f.body.length, 0),
  ],
  // Its two halves, to show where the time goes.
  ['  of which: decode + validate the JSON records', async () => (decodeAll(), 0)],
  [
    '  of which: columns + sort + Arrow + parquet-wasm (decoded rows)',
    async () => encode(rawTable, decoded, range).reduce((n, f) => n + f.body.length, 0),
  ],
  ['decode + columns + DuckDB data chunks + COPY', duckdbFromChunks],
  ['decode + DuckDB read_ndjson of the records + COPY', duckdbFromJson],
];
const times = new Map<string, number[]>(variants.map(([name]) => [name, []]));
const sizes = new Map<string, number>();
for (let run = 0; run <= RUNS; run++) {
  for (const [name, fn] of variants) {
    const t0 = performance.now();
    const bytes = await fn();
    if (run > 0) times.get(name)!.push(performance.now() - t0);
    sizes.set(name, bytes);
  }
}
con.closeSync();
rmSync(dir, { recursive: true, force: true });

console.log(`sink-encode bench: ${N} raw tick records, one thread each, median of ${RUNS} runs after a warm-up`);
console.log(machine());
const base = median(times.get(variants[0]![0])!);
for (const [name] of variants) {
  const ms = median(times.get(name)!);
  console.log(
    `${name.padEnd(66)} ${((ms * 1000) / N).toFixed(2).padStart(6)} µs/record  ${(sizes.get(name)
      ? `${(sizes.get(name)! / 1024).toFixed(0)} KiB`
      : ''
    ).padStart(10)}  x${(base / ms).toFixed(2)} vs encodeBlock`,
  );
}
