/**
 * Vendor time and number formats -> ticklake units. Every vendor states its own event-time unit (Finnhub and
 * Polygon: Unix ms; Alpaca: RFC-3339 with up to nanoseconds; Coinbase: ISO-8601 with µs), and ticks carry integer
 * µs since the epoch. Each converter returns undefined for anything it cannot read exactly, so the adapter can
 * pass the message through as malformed instead of inventing a time.
 */

/** Unix milliseconds (integer) -> µs. */
export function msToUs(ms: unknown): number | undefined {
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms <= 0) return undefined;
  const us = ms * 1000;
  return Number.isSafeInteger(us) ? us : undefined;
}

/** Unix nanoseconds (integer number or decimal string) -> µs, truncated (sub-µs digits carry no tick meaning). */
export function nsToUs(ns: unknown): number | undefined {
  if (typeof ns === 'string' && /^\d{1,20}$/.test(ns)) return Number(BigInt(ns) / 1000n);
  if (typeof ns === 'number' && Number.isInteger(ns) && ns > 0) return Math.floor(ns / 1000);
  return undefined;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * RFC-3339 / ISO-8601 timestamp -> integer µs. Date.parse would round to ms and drop the µs/ns digits both
 * Alpaca and Coinbase send, so the fraction is read as text. Digits beyond µs are truncated.
 */
export function isoToUs(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = '', zone = 'Z'] = m;
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  const ms = Date.UTC(Number(y), month - 1, day, hour, minute, second);
  // Date.UTC rolls 31 Feb into March: reject dates that did not survive the round trip.
  if (new Date(ms).getUTCDate() !== day) return undefined;
  let offsetMin = 0;
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
  }
  const fracUs = Number((frac + '000000').slice(0, 6));
  return (ms - offsetMin * 60_000) * 1000 + fracUs;
}

/** A finite number from a JSON number or a decimal string (Coinbase sends prices and sizes as strings). */
export function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value.trim())) {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

export interface BookSides {
  bid: number;
  bidSize: number;
  ask: number;
  askSize: number;
}

/**
 * The four numbers of a quote, read from the vendor's field names (e.g. ['bp', 'bs', 'ap', 'as']); undefined when
 * any is missing or not a number.
 */
export function bookSides(
  el: Record<string, unknown>,
  [bid, bidSize, ask, askSize]: readonly [string, string, string, string],
): BookSides | undefined {
  const b = toNumber(el[bid]);
  const bs = toNumber(el[bidSize]);
  const a = toNumber(el[ask]);
  const as = toNumber(el[askSize]);
  if (b === undefined || bs === undefined || a === undefined || as === undefined) return undefined;
  return { bid: b, bidSize: bs, ask: a, askSize: as };
}

/** A non-negative safe integer from a number or a digit string (trade ids, sequence numbers). */
export function toSafeInt(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string' && /^\d{1,16}$/.test(value)) {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}
