import { TICK_SCHEMA_VERSION, nowUs, tickId } from '../../../core/schemas/tick.ts';
import type { Timed } from '../pacing.ts';
import type { ReplayOptions } from './options.ts';
import { toEventUs } from './timestamps.ts';

/**
 * One file row -> the tick records it stands for (one for a trade or quote, four for a bar, none for a bar without
 * volume). This module judges only what it converts: a cell that is not a number, an unreadable time, a missing
 * column. Such a row still becomes a record — a tick-shaped JSON object holding the raw cells as found plus
 * `replayError`, `replayFile` and `replayLine` — so the processor dead-letters it with a precise reason and the DLQ
 * shows where it came from. Keeping the raw cell (a string where a number belongs) or leaving a required field out
 * guarantees such a record fails the tick schema. Values that convert but are out of range (a negative price) are
 * the processor's call.
 *
 * Bars become four trades inside the bar's window, so aggregating them again gives the same OHLCV: open at the
 * window start, the two extremes at 1/3 and 2/3 of the window (low first on an up bar, high first on a down bar),
 * close 1 µs before the window end; each carries a quarter of the volume. seq = line·4 + k (k = 0..3).
 */

export interface RowContext {
  source: string;
  /** File base name, for replayFile. */
  file: string;
  /** 1-based line number (CSV/NDJSON) or row number (Parquet): the default seq. */
  line: number;
}

export type RowOutcome = { records: Timed[]; malformed: boolean; skippedBar: boolean };

type Cells = Record<string, unknown>;
type Fields = Record<string, unknown>;
const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function isMissing(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

/** Collects conversion errors while building a record, keeping the raw cell wherever conversion failed. */
class RowReader {
  readonly errors: string[] = [];
  constructor(private readonly cells: Cells) {}

  has(column: string): boolean {
    return !isMissing(this.cells[column]);
  }

  raw(column: string): unknown {
    const v = this.cells[column];
    return typeof v === 'bigint' ? v.toString() : v;
  }

  number(column: string): unknown {
    const v = this.cells[column];
    if (isMissing(v)) {
      this.errors.push(`${column}: missing`);
      return undefined;
    }
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (typeof v === 'bigint') return Number(v);
    if (typeof v === 'string' && NUMBER_TEXT.test(v.trim())) return Number(v);
    this.errors.push(`${column}: ${JSON.stringify(String(v))} is not a number`);
    return this.raw(column);
  }

  time(column: string, format: ReplayOptions['timestampFormat']): unknown {
    const r = toEventUs(this.cells[column], format);
    if (r.ok) return r.us;
    this.errors.push(`${column}: ${r.error}`);
    return this.raw(column);
  }

  symbol(column: string): string {
    const v = this.cells[column];
    if (isMissing(v)) {
      this.errors.push(`${column}: missing`);
      return '';
    }
    return String(v).trim();
  }

  seq(column: string, fallback: number): unknown {
    if (!this.has(column)) return fallback;
    const v = this.cells[column];
    const n = typeof v === 'bigint' ? Number(v) : typeof v === 'string' ? Number(v.trim()) : v;
    if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) return n;
    this.errors.push(`${column}: ${JSON.stringify(String(v))} is not a non-negative integer`);
    return this.raw(column);
  }
}

function timed(fields: Fields, ctx: RowContext, errors: string[]): Timed {
  const key = typeof fields.symbol === 'string' ? fields.symbol : '';
  if (errors.length > 0) {
    fields.replayError = errors.join('; ');
    fields.replayFile = ctx.file;
    fields.replayLine = ctx.line;
  }
  const ts = typeof fields.ts === 'number' ? fields.ts : Number.NaN;
  return { record: { key, value: JSON.stringify(fields) }, ts };
}

function header(source: string, symbol: string, seq: unknown, type: unknown): Fields {
  const id = typeof seq === 'number' ? tickId(source, symbol, seq) : `${source}:${symbol}:${String(seq)}`;
  return { v: TICK_SCHEMA_VERSION, id, source, symbol, seq, type };
}

function recvTsFor(r: RowReader, opts: ReplayOptions, ts: unknown): unknown {
  if (r.has(opts.columns.recvTs)) return r.time(opts.columns.recvTs, opts.timestampFormat);
  return opts.recvTs === 'wall' ? nowUs() : ts;
}

/** `type` undefined: a mixed file's row with an unknown type, kept as found (read like a trade). */
function tradeOrQuote(r: RowReader, type: 'trade' | 'quote' | undefined, ctx: RowContext, opts: ReplayOptions): Timed {
  const c = opts.columns;
  const symbol = r.symbol(c.symbol);
  const fields = header(ctx.source, symbol, r.seq(c.seq, ctx.line), type ?? r.raw(c.type) ?? null);
  fields.ts = r.time(c.ts, opts.timestampFormat);
  fields.recvTs = recvTsFor(r, opts, fields.ts);
  if (r.has(c.exchange)) fields.exchange = String(r.raw(c.exchange));
  if (type !== 'quote') {
    fields.price = r.number(c.price);
    fields.size = r.number(c.size);
  } else {
    fields.bid = r.number(c.bid);
    fields.bidSize = r.number(c.bidSize);
    fields.ask = r.number(c.ask);
    fields.askSize = r.number(c.askSize);
  }
  return timed(fields, ctx, r.errors);
}

function barTrades(r: RowReader, ctx: RowContext, opts: ReplayOptions): RowOutcome {
  const c = opts.columns;
  const symbol = r.symbol(c.symbol);
  const seqBase = r.seq(c.seq, ctx.line);
  const t = r.time(c.ts, opts.timestampFormat);
  const [open, high, low, close, volume] = [c.open, c.high, c.low, c.close, c.volume].map((col) => r.number(col));
  if (r.errors.length === 0) {
    const [o, h, l, cl] = [open, high, low, close] as [number, number, number, number];
    if (!(l <= Math.min(o, cl) && h >= Math.max(o, cl))) {
      r.errors.push(`bar is inconsistent: open ${o}, high ${h}, low ${l}, close ${cl}`);
    }
  }
  if (r.errors.length > 0 || typeof seqBase !== 'number') {
    const fields = header(ctx.source, symbol, seqBase, 'trade');
    Object.assign(fields, { ts: t, recvTs: t, open, high, low, close, volume });
    return { records: [timed(fields, ctx, r.errors)], malformed: true, skippedBar: false };
  }
  if (volume === 0) return { records: [], malformed: false, skippedBar: true };
  const intervalUs = opts.bars.intervalSec * 1_000_000;
  const start = (t as number) - (opts.bars.timestamp === 'end' ? intervalUs : 0);
  const third = Math.floor(intervalUs / 3);
  const up = (close as number) >= (open as number);
  const path: Array<[number, unknown]> = [
    [start, open],
    [start + third, up ? low : high],
    [start + 2 * third, up ? high : low],
    [start + intervalUs - 1, close],
  ];
  const explicitRecv = r.has(c.recvTs);
  const records = path.map(([ts, price], k) => {
    const fields = header(ctx.source, symbol, seqBase * 4 + k, 'trade');
    fields.ts = ts;
    fields.recvTs = explicitRecv ? recvTsFor(r, opts, ts) : opts.recvTs === 'wall' ? nowUs() : ts;
    fields.price = price;
    fields.size = (volume as number) / 4;
    return timed(fields, ctx, r.errors);
  });
  return { records, malformed: r.errors.length > 0, skippedBar: false };
}

function typeOf(r: RowReader, column: string): 'trade' | 'quote' | undefined {
  const v = String(r.raw(column) ?? '')
    .trim()
    .toLowerCase();
  if (v === 'trade' || v === 't') return 'trade';
  if (v === 'quote' || v === 'q') return 'quote';
  r.errors.push(`${column}: ${JSON.stringify(v)} is not trade or quote`);
  return undefined;
}

export function rowToRecords(cells: Cells, ctx: RowContext, opts: ReplayOptions): RowOutcome {
  const r = new RowReader(cells);
  if (opts.kind === 'bars') return barTrades(r, ctx, opts);
  const type = opts.kind === 'trades' ? 'trade' : opts.kind === 'quotes' ? 'quote' : typeOf(r, opts.columns.type);
  const rec = tradeOrQuote(r, type, ctx, opts);
  return { records: [rec], malformed: r.errors.length > 0, skippedBar: false };
}

/** A row the reader could not even split into cells (invalid JSON line, broken CSV quoting): its text as is. */
export function rawRecord(raw: string): Timed {
  return { record: { key: '', value: raw }, ts: Number.NaN };
}
