import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { DuckDBConnection } from '@duckdb/node-api';
import { listValue, timestampTZValue } from '@duckdb/node-api';
import type { Tick } from '../core/schemas/tick.ts';

/** Shared by the lake benchmarks: synthetic ticks, timing, machine facts, loading rows into DuckDB. */
export const T0_US = Date.UTC(2024, 2, 1, 10) * 1000;
const SYMBOLS = Array.from({ length: 50 }, (_, i) => `SYM${String(i).padStart(2, '0')}`);

export function syntheticTicks(n: number, seq0 = 0): Tick[] {
  const out: Tick[] = [];
  for (let i = 0; i < n; i++) {
    const seq = seq0 + i;
    const symbol = SYMBOLS[(seq * 7) % SYMBOLS.length]!;
    const ts = T0_US + Math.floor((i * 3_000_000_000) / n);
    const base = { v: 1 as const, id: `syn:${symbol}:${seq}`, source: 'syn', symbol, seq, ts, recvTs: ts + 800 };
    out.push(
      seq % 3 === 2
        ? {
            ...base,
            type: 'quote',
            bid: 100 + (seq % 997) / 100,
            bidSize: 100 * (seq % 5),
            ask: 100.02 + (seq % 997) / 100,
            askSize: 300,
          }
        : {
            ...base,
            type: 'trade',
            price: 100.01 + (seq % 997) / 100,
            size: 1 + (seq % 300),
            exchange: seq % 2 ? 'XNAS' : undefined,
            conditions: seq % 11 === 0 ? ['@', 'T'] : undefined,
          },
    );
  }
  return out;
}

export async function timeIt(fn: () => Promise<void> | void): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export { median } from './support.ts';

export function machine(): string {
  const pkg = (name: string) =>
    (
      JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as {
        version: string;
      }
    ).version;
  return [
    `node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`,
    `apache-arrow ${pkg('apache-arrow')}, parquet-wasm ${pkg('parquet-wasm')}, @duckdb/node-api ${pkg('@duckdb/node-api')}`,
  ].join('\n');
}

export const RAW_DDL = `create or replace table raw (id varchar, source varchar, symbol varchar, seq bigint, type varchar,
  ts timestamptz, recv_ts timestamptz, exchange varchar, conditions varchar[], price double, size double,
  bid double, bid_size double, ask double, ask_size double)`;

/** The same rows through DuckDB's appender into table `raw`. */
export async function appendTicks(con: DuckDBConnection, ticks: readonly Tick[]): Promise<void> {
  await con.run(RAW_DDL);
  const a = await con.createAppender('raw');
  const num = (v: number | undefined) => (v === undefined ? a.appendNull() : a.appendDouble(v));
  for (const t of ticks) {
    a.appendVarchar(t.id);
    a.appendVarchar(t.source);
    a.appendVarchar(t.symbol);
    a.appendBigInt(BigInt(t.seq));
    a.appendVarchar(t.type);
    a.appendTimestampTZ(timestampTZValue(BigInt(t.ts)));
    a.appendTimestampTZ(timestampTZValue(BigInt(t.recvTs)));
    if (t.exchange === undefined) a.appendNull();
    else a.appendVarchar(t.exchange);
    if (t.conditions === undefined) a.appendNull();
    else a.appendList(listValue(t.conditions));
    num(t.type === 'trade' ? t.price : undefined);
    num(t.type === 'trade' ? t.size : undefined);
    num(t.type === 'quote' ? t.bid : undefined);
    num(t.type === 'quote' ? t.bidSize : undefined);
    num(t.type === 'quote' ? t.ask : undefined);
    num(t.type === 'quote' ? t.askSize : undefined);
    a.endRow();
  }
  a.closeSync();
}
