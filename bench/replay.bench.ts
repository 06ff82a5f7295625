/**
 * File replay throughput, source only (no Kafka): the replay source at speed 0 turning a file of trades into tick
 * records, for CSV, NDJSON and Parquet, each next to a bare read of the same file in the same run (the ratio is
 * what row conversion, record JSON and batching add on top of parsing the format):
 *  - CSV: csv-parse with `columns: true` over the same stream, rows counted;
 *  - NDJSON: readline + JSON.parse per line;
 *  - Parquet: parquet-wasm record batches decoded to Arrow, rows counted.
 *
 *   node --import tsx bench/replay.bench.ts [--rows 400000] [--runs 3]
 */
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { parse } from 'csv-parse';
import { createReplaySource } from '../streaming/sources/replay/source.ts';
import { median, printTable } from './support.ts';

const { values: args } = parseArgs({
  options: { rows: { type: 'string', default: '400000' }, runs: { type: 'string', default: '3' } },
});
const ROWS = Number(args.rows);
const RUNS = Number(args.runs);

const dir = mkdtempSync(join(tmpdir(), 'ticklake-replay-bench-'));
const files = {
  csv: join(dir, 'trades.csv'),
  ndjson: join(dir, 'trades.ndjson'),
  parquet: join(dir, 'trades.parquet'),
};

/** Trades of 50 made-up symbols (not the shipped master's), ms timestamps as ISO text in CSV/NDJSON. */
function writeFiles(): void {
  const symbol: string[] = [];
  const ts: bigint[] = [];
  const price: number[] = [];
  const size: number[] = [];
  const t0 = Date.parse('2026-11-20T14:30:00Z');
  for (let i = 0; i < ROWS; i++) {
    symbol.push(`SYM${i % 50}`);
    ts.push(BigInt(t0 + Math.floor(i / 10)) * 1000n);
    price.push(100 + ((i * 7919) % 1000) / 100);
    size.push(1 + (i % 300));
  }
  const iso = ts.map((t) => new Date(Number(t / 1000n)).toISOString());
  const csv = ['symbol,ts,price,size'];
  const nd: string[] = [];
  for (let i = 0; i < ROWS; i++) {
    csv.push(`${symbol[i]},${iso[i]},${price[i]},${size[i]}`);
    nd.push(JSON.stringify({ symbol: symbol[i], ts: iso[i], price: price[i], size: size[i] }));
  }
  writeFileSync(files.csv, csv.join('\n') + '\n');
  writeFileSync(files.ndjson, nd.join('\n') + '\n');
  return void ts;
}

async function writeParquet(): Promise<void> {
  const { Table, writeParquet: write, WriterPropertiesBuilder, Compression } = await import('parquet-wasm');
  const t0 = Date.parse('2026-11-20T14:30:00Z');
  const arrow = tableFromArrays({
    symbol: Array.from({ length: ROWS }, (_, i) => `SYM${i % 50}`),
    ts: Float64Array.from({ length: ROWS }, (_, i) => t0 + Math.floor(i / 10)),
    price: Float64Array.from({ length: ROWS }, (_, i) => 100 + ((i * 7919) % 1000) / 100),
    size: Float64Array.from({ length: ROWS }, (_, i) => 1 + (i % 300)),
  });
  const props = new WriterPropertiesBuilder().setCompression(Compression.ZSTD).build();
  writeFileSync(files.parquet, write(Table.fromIPCStream(tableToIPC(arrow, 'stream')), props));
}

async function replay(file: string): Promise<number> {
  // Epoch-ms numbers in the Parquet file; 'auto' would guess the unit from the magnitude just the same.
  const source = createReplaySource({ files: [file], batchSize: 5000, progress: false, timestampFormat: 'auto' });
  let n = 0;
  for await (const batch of source.batches(new AbortController().signal)) n += batch.length;
  await source.close();
  return n;
}

async function bareCsv(file: string): Promise<number> {
  let n = 0;
  for await (const _row of createReadStream(file).pipe(parse({ columns: true }))) n++;
  return n;
}

async function bareNdjson(file: string): Promise<number> {
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line) {
      JSON.parse(line);
      n++;
    }
  }
  return n;
}

async function bareParquet(file: string): Promise<number> {
  const { ParquetFile } = await import('parquet-wasm');
  const { openAsBlob } = await import('node:fs');
  const { tableFromIPC } = await import('apache-arrow');
  const pq = await ParquetFile.fromFile(await openAsBlob(file));
  let n = 0;
  const stream = await pq.stream({ batchSize: 4096 });
  for await (const b of stream as unknown as AsyncIterable<{ intoIPCStream(): Uint8Array }>) {
    n += tableFromIPC(b.intoIPCStream()).numRows;
  }
  return n;
}

async function rate(fn: () => Promise<number>): Promise<number> {
  const t0 = performance.now();
  const n = await fn();
  if (n < ROWS) throw new Error(`read ${n} of ${ROWS} rows`);
  return n / ((performance.now() - t0) / 1000);
}

try {
  writeFiles();
  await writeParquet();
  const cases = [
    { name: 'csv', bare: bareCsv, baseName: 'csv-parse, columns' },
    { name: 'ndjson', bare: bareNdjson, baseName: 'readline + JSON.parse' },
    { name: 'parquet', bare: bareParquet, baseName: 'parquet-wasm decode' },
  ] as const;
  const results = new Map<string, { replay: number[]; bare: number[] }>();
  for (const c of cases) results.set(c.name, { replay: [], bare: [] });
  // Interleaved, so a noisy moment on the shared machine hits all cases alike; one warm-up run each first.
  for (let run = -1; run < RUNS; run++) {
    for (const c of cases) {
      const file = files[c.name];
      const r = await rate(() => replay(file));
      const b = await rate(() => c.bare(file));
      if (run >= 0) {
        results.get(c.name)!.replay.push(r);
        results.get(c.name)!.bare.push(b);
      }
    }
  }
  printTable(
    `Replay source, ${ROWS.toLocaleString('en-US')} trades per file, ticks/s (median of ${RUNS}), speed 0`,
    cases.map((c) => {
      const r = results.get(c.name)!;
      return [`replay ${c.name}`, median(r.replay), median(r.bare), c.baseName] as [string, number, number, string];
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
