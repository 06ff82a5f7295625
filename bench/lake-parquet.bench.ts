import { DuckDBInstance } from '@duckdb/node-api';
// The design card's choice, measured as the baseline it would have been (CommonJS, no types).
// @ts-expect-error parquetjs-lite ships no type declarations
import parquetjs from 'parquetjs-lite';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeParquet } from '../lake/parquet.ts';
import { rawTable, toColumns } from '../lake/tables.ts';
import { encode } from '../lake/writer.ts';
import { appendTicks, machine, median, syntheticTicks, timeIt } from './lake-bench-util.ts';

/**
 * Rows -> Parquet: ticklake's encoder (apache-arrow + parquet-wasm) next to DuckDB writing the same rows,
 * in the same run. `node --import tsx bench/lake-parquet.bench.ts [rows] [runs]`
 * parquetjs-lite (named on the design card) writes the same rows too, snappy-compressed (it has no zstd).
 */
const N = Number(process.argv[2] ?? 200_000);
const RUNS = Number(process.argv[3] ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'lake-bench-'));
const ticks = syntheticTicks(N);
const range = { topic: 'ticks.raw', partition: 0, startOffset: '0', endOffset: String(N - 1) };

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const threads = (await con.runAndReadAll(`select current_setting('threads') as t`)).getRowObjectsJson()[0]!.t;

const results: Record<string, { ms: number[]; bytes: number }> = {};
const record = (name: string, ms: number, bytes: number) => {
  (results[name] ??= { ms: [], bytes }).ms.push(ms);
  results[name]!.bytes = bytes;
};

for (let run = 0; run <= RUNS; run++) {
  const warm = run === 0;
  let bytes = 0;
  let ms = await timeIt(() => {
    const body = encodeParquet(rawTable.columns, toColumns(rawTable, ticks), N);
    writeFileSync(join(dir, 'ours.parquet'), body);
    bytes = body.length;
  });
  if (!warm) record('ticklake encode (rows -> columns -> Arrow -> Parquet, zstd)', ms, bytes);

  ms = await timeIt(() => {
    bytes = encode(rawTable, ticks, range).reduce((n, f) => n + f.body.length, 0);
  });
  if (!warm) record('ticklake sink encode (+ hour split + sort by symbol, ts)', ms, bytes);

  const lite = join(dir, 'lite.parquet');
  ms = await timeIt(() => writeWithParquetjsLite(lite, ticks));
  if (!warm) record('parquetjs-lite (row by row, snappy)', ms, statSync(lite).size);

  const out = join(dir, 'duck.parquet');
  let copyMs = 0;
  ms = await timeIt(async () => {
    await appendTicks(con, ticks);
    copyMs = await timeIt(() =>
      con.run(`copy raw to '${out}' (format parquet, compression zstd)`).then(() => undefined),
    );
  });
  if (!warm) {
    record('duckdb appender + COPY TO parquet (zstd)', ms, statSync(out).size);
    record('duckdb COPY TO parquet only (rows already in DuckDB)', copyMs, statSync(out).size);
  }
}

console.log(`lake-parquet bench: ${N} tick rows (15 columns, 50 symbols), median of ${RUNS} runs after 1 warm-up`);
console.log(machine());
console.log(`duckdb threads: ${String(threads)} (ticklake's encoder is single-threaded)\n`);
const base = median(results['duckdb appender + COPY TO parquet (zstd)']!.ms);
for (const [name, r] of Object.entries(results)) {
  const m = median(r.ms);
  console.log(
    `${name.padEnd(62)} ${m.toFixed(0).padStart(6)} ms  ${Math.round((N / m) * 1000)
      .toLocaleString('en-US')
      .padStart(
        11,
      )} rows/s  ${(r.bytes / 1024).toFixed(0).padStart(6)} KiB  x${(base / m).toFixed(2)} vs duckdb appender+copy`,
  );
}
con.closeSync();
rmSync(dir, { recursive: true, force: true });

async function writeWithParquetjsLite(file: string, rows: typeof ticks): Promise<void> {
  const opt = (type: string) => ({ type, optional: true, compression: 'SNAPPY' });
  const req = (type: string) => ({ type, compression: 'SNAPPY' });
  const schema = new parquetjs.ParquetSchema({
    id: req('UTF8'),
    source: req('UTF8'),
    symbol: req('UTF8'),
    seq: req('INT64'),
    type: req('UTF8'),
    ts: req('TIMESTAMP_MICROS'),
    recv_ts: req('TIMESTAMP_MICROS'),
    exchange: opt('UTF8'),
    price: opt('DOUBLE'),
    size: opt('DOUBLE'),
    bid: opt('DOUBLE'),
    bid_size: opt('DOUBLE'),
    ask: opt('DOUBLE'),
    ask_size: opt('DOUBLE'),
  });
  const writer = await parquetjs.ParquetWriter.openFile(schema, file);
  for (const t of rows) {
    await writer.appendRow({
      id: t.id,
      source: t.source,
      symbol: t.symbol,
      seq: t.seq,
      type: t.type,
      ts: t.ts,
      recv_ts: t.recvTs,
      exchange: t.exchange,
      ...(t.type === 'trade'
        ? { price: t.price, size: t.size }
        : { bid: t.bid, bid_size: t.bidSize, ask: t.ask, ask_size: t.askSize }),
    });
  }
  await writer.close();
}
