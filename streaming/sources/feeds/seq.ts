import { createHash } from 'node:crypto';

/**
 * Building a tick's `seq` from what a vendor gives. `tickId(source, symbol, seq)` is the dedupe key, so seq must
 * be (a) unique per (vendor, symbol) for distinct events and (b) the same when the vendor re-sends an event.
 *
 * Trades and quotes of one symbol share the id space, and a vendor's trade ids and quote sequence numbers can
 * collide (or be the same number, as with Coinbase's ticker and the match that caused it), so the lowest bit
 * of seq is the kind: even = trade, odd = quote. seq is therefore an opaque key that orders events of one kind.
 */
export type TickKind = 'trade' | 'quote';

const KIND_BIT: Record<TickKind, number> = { trade: 0, quote: 1 };

/** n (a vendor id or packed number) -> seq with the kind bit; undefined when it would not stay a safe integer. */
export function kindSeq(kind: TickKind, n: number): number | undefined {
  if (!Number.isSafeInteger(n) || n < 0) return undefined;
  const seq = n * 2 + KIND_BIT[kind];
  return Number.isSafeInteger(seq) ? seq : undefined;
}

const DAY_MS = 86_400_000;
// US equity sessions run 04:00-20:00 New York time. Shifting UTC back 5 h maps every instant of a session, in
// winter (UTC-5) and summer (UTC-4), onto that session's New York date, without a time-zone database.
const NY_SESSION_SHIFT_MS = 5 * 3_600_000;

/** The New York trading date of an instant, as days since 1970-01-01. */
export function nyTradingDay(ms: number): number {
  return Math.floor((ms - NY_SESSION_SHIFT_MS) / DAY_MS);
}

const DAY_SEQ_BITS = 2 ** 34;

/**
 * A per-day vendor sequence (Polygon's `q` resets every session) made unique across days: day * 2^34 + q.
 * Undefined if q is outside [0, 2^34).
 */
export function daySeq(day: number, q: number): number | undefined {
  if (!Number.isSafeInteger(q) || q < 0 || q >= DAY_SEQ_BITS || day < 0) return undefined;
  return day * DAY_SEQ_BITS + q;
}

/**
 * A 52-bit number from a composite key, for vendors whose unique trade key does not fit 53 bits (Alpaca:
 * symbol + date + exchange + trade id, the id alone up to ~5e13). Stable across connections and restarts;
 * two distinct keys collide with probability ~n²/2^53 among n keys of one symbol (≈1e-6 for 1e5 in a dedupe window).
 */
export function hashKey(key: string): number {
  const digest = createHash('sha1').update(key).digest();
  // 6 bytes = 48 bits, plus the top 4 bits of the 7th: 52 bits, so kindSeq() stays a safe integer.
  return digest.readUIntBE(0, 6) * 16 + (digest[6]! >> 4);
}

export const MAX_ORDINAL = 999;

/**
 * seq for vendors with no id at all (Finnhub trades, Alpaca quotes): eventMs * 1000 + ordinal, the ordinal
 * counting events of that (kind, symbol) in that millisecond in arrival order. Unique while the bucket is
 * remembered; when the vendor re-sends a millisecond's events in the same order they get the same seq.
 * Buckets are kept for the source's lifetime up to `capacity` (oldest forgotten first), so an event arriving
 * later than that for an already-seen millisecond could reuse an ordinal: documented, and rare for live feeds.
 */
export class TimeOrdinals {
  private readonly buckets = new Map<string, number>();

  constructor(private readonly capacity = 100_000) {}

  next(kind: TickKind, symbol: string, eventMs: number): number | undefined {
    const key = `${kind}|${symbol}|${eventMs}`;
    const ordinal = this.buckets.get(key) ?? 0;
    if (ordinal > MAX_ORDINAL) return undefined;
    this.buckets.delete(key);
    this.buckets.set(key, ordinal + 1);
    if (this.buckets.size > this.capacity) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    return eventMs * 1000 + ordinal;
  }
}
