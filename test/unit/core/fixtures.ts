import { tickId } from '../../../core/schemas/tick.ts';
import type { QuoteTick, TradeTick } from '../../../core/schemas/tick.ts';

/** 2026-01-02T00:00:00Z in µs: a minute (and day) boundary, so window arithmetic in tests stays readable. */
export const T0 = 1_767_312_000_000_000;
export const SEC = 1_000_000;
export const MIN = 60 * SEC;

export function trade(
  symbol: string,
  seq: number,
  ts: number,
  price: number,
  size: number,
  source = 'test',
): TradeTick {
  return { v: 1, id: tickId(source, symbol, seq), source, symbol, seq, ts, recvTs: ts, type: 'trade', price, size };
}

export function quote(symbol: string, seq: number, ts: number, bid: number, ask: number, source = 'test'): QuoteTick {
  return {
    v: 1,
    id: tickId(source, symbol, seq),
    source,
    symbol,
    seq,
    ts,
    recvTs: ts,
    type: 'quote',
    bid,
    bidSize: 100,
    ask,
    askSize: 200,
  };
}
