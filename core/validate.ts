import { z } from 'zod';
import type { DlqReason } from './schemas/dlq.ts';
import type { ReferenceSymbol } from './schemas/reference.ts';
import type { QuoteTick, Tick, TradeTick } from './schemas/tick.ts';
import { MAX_EVENT_TIME_US, MIN_EVENT_TIME_US, TICK_SCHEMA_VERSION } from './schemas/tick.ts';

/**
 * Decodes one `ticks.raw` record value into a Tick or a DLQ verdict. This runs once per record at >100k records/s,
 * so instead of zod it is a hand-written mirror of `tickSchema` (core/schemas/tick.ts) that allocates only the
 * output; test/unit/core/validate.test.ts checks that both accept and reject the same inputs.
 *
 * Check order (the first failure decides the reason): size, JSON, structure and types (`schema_violation`, also
 * for an id that is not tickId(source, symbol, seq)), price and size ranges, crossed quote, event-time bounds
 * against `nowUs`, and last the symbol master.
 */

export const validationLimitsSchema = z
  .object({
    /** Record values above this many bytes are rejected before parsing. */
    maxBytes: z.coerce.number().int().positive().default(16_384),
    /** Inclusive bounds for trade prices, bids and asks. Zero and negatives are always out of range. */
    minPrice: z.coerce.number().positive().default(0.000_001),
    maxPrice: z.coerce.number().positive().default(10_000_000),
    /** Inclusive upper bound for trade size, bid size and ask size. */
    maxSize: z.coerce.number().positive().default(100_000_000),
    /** How far event time may run ahead of `nowUs` (source clock skew); null disables the check. */
    maxAheadUs: z.coerce.number().int().nonnegative().nullable().default(60_000_000),
    /** How far event time may lag `nowUs`; null (the default) disables the check, so replays of old data pass. */
    maxBehindUs: z.coerce.number().int().nonnegative().nullable().default(null),
  })
  .refine((l) => l.minPrice <= l.maxPrice, { message: 'minPrice must not exceed maxPrice', path: ['minPrice'] });

export type ValidationLimits = z.infer<typeof validationLimitsSchema>;
export const DEFAULT_VALIDATION_LIMITS: Readonly<ValidationLimits> = Object.freeze(validationLimitsSchema.parse({}));

export type DecodeResult = { ok: true; tick: Tick } | { ok: false; reason: DlqReason; detail: string };

type Fail = { ok: false; reason: DlqReason; detail: string };

function fail(reason: DlqReason, detail: string): Fail {
  return { ok: false, reason, detail };
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : Number.isFinite(v) ? 'number' : 'Infinity';
  return typeof v;
}

function describe(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : typeName(v);
}

const SYMBOL_RE = /^[A-Z0-9][A-Z0-9.\-/:_]*$/;

/** null when fine, else the problem; mirrors symbolSchema. */
function symbolProblem(s: string): string | null {
  if (s.length === 0) return 'symbol is empty';
  if (s.length > 32) return 'must be at most 32 characters';
  if (!SYMBOL_RE.test(s)) return 'symbol must be upper-case letters, digits and . - / : _';
  return null;
}

function timeProblem(t: unknown): string | null {
  if (typeof t !== 'number' || !Number.isFinite(t)) return `must be a finite number, got ${describe(t)}`;
  if (!Number.isInteger(t)) return 'must be an integer number of microseconds';
  if (t < MIN_EVENT_TIME_US) return `${t} is before 2000-01-01 in µs (is it ms or ns?)`;
  if (t > MAX_EVENT_TIME_US) return `${t} is after 2100-01-01 in µs (is it ns?)`;
  return null;
}

/** `id === tickId(source, symbol, seq)` without building the string. */
function idMatches(id: string, source: string, symbol: string, seq: number): boolean {
  const symAt = source.length + 1;
  const seqAt = symAt + symbol.length + 1;
  const digits = id.length - seqAt;
  if (digits < 1 || digits > 16) return false;
  if (!id.startsWith(source) || id.charCodeAt(source.length) !== 58) return false;
  if (!id.startsWith(symbol, symAt) || id.charCodeAt(seqAt - 1) !== 58) return false;
  if (digits > 1 && id.charCodeAt(seqAt) === 48) return false; // String(seq) never has leading zeros
  let n = 0;
  for (let i = seqAt; i < id.length; i++) {
    const d = id.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    n = n * 10 + d;
  }
  return n === seq;
}

function priceProblem(field: string, p: number, limits: ValidationLimits): Fail | null {
  if (p > 0 && p >= limits.minPrice && p <= limits.maxPrice) return null;
  return fail('price_out_of_range', `${field}: ${p} is outside [${limits.minPrice}, ${limits.maxPrice}]`);
}

function sizeProblem(field: string, s: number, limits: ValidationLimits, allowZero: boolean): Fail | null {
  if ((allowZero ? s >= 0 : s > 0) && s <= limits.maxSize) return null;
  return fail('size_out_of_range', `${field}: ${s} is outside ${allowZero ? '[0' : '(0'}, ${limits.maxSize}]`);
}

function byteLengthExceeds(value: Buffer | string, maxBytes: number): boolean {
  if (typeof value !== 'string') return value.length > maxBytes;
  // UTF-8 needs between 1 and 3 bytes per UTF-16 unit, so only the middle band needs an exact count.
  if (value.length > maxBytes) return true;
  if (value.length * 3 <= maxBytes) return false;
  return Buffer.byteLength(value, 'utf8') > maxBytes;
}

export function decodeRawTick(
  value: Buffer | string | null | undefined,
  limits: ValidationLimits,
  nowUs: number,
  reference?: ReadonlyMap<string, ReferenceSymbol>,
): DecodeResult {
  if (value === null || value === undefined) return fail('invalid_json', 'record value is null (tombstone?)');
  if (value.length === 0) return fail('invalid_json', 'record value is empty');
  if (byteLengthExceeds(value, limits.maxBytes)) {
    return fail('payload_too_large', `record value exceeds ${limits.maxBytes} bytes`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (err) {
    return fail('invalid_json', (err as Error).message);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return fail('schema_violation', `value must be a JSON object, got ${typeName(raw)}`);
  }
  const r = raw as Record<string, unknown>;

  // Structure and types, in schema field order.
  if (r.v !== TICK_SCHEMA_VERSION)
    return fail('schema_violation', `v: must be ${TICK_SCHEMA_VERSION}, got ${describe(r.v)}`);
  const type = r.type;
  if (type !== 'trade' && type !== 'quote') {
    return fail('schema_violation', `type: must be "trade" or "quote", got ${describe(type)}`);
  }
  const id = r.id;
  if (typeof id !== 'string') return fail('schema_violation', `id: must be a string, got ${describe(id)}`);
  if (id.length === 0 || id.length > 160) return fail('schema_violation', 'id: must be 1..160 characters');
  const source = r.source;
  if (typeof source !== 'string') return fail('schema_violation', `source: must be a string, got ${describe(source)}`);
  if (source.length === 0 || source.length > 32) return fail('schema_violation', 'source: must be 1..32 characters');
  const symbol = r.symbol;
  if (typeof symbol !== 'string') return fail('schema_violation', `symbol: must be a string, got ${describe(symbol)}`);
  const symProblem = symbolProblem(symbol);
  if (symProblem !== null) return fail('schema_violation', `symbol: ${symProblem}`);
  const seq = r.seq;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    return fail('schema_violation', `seq: must be a non-negative safe integer, got ${describe(seq)}`);
  }
  const ts = r.ts;
  const tsProblem = timeProblem(ts);
  if (tsProblem !== null) return fail('schema_violation', `ts: ${tsProblem}`);
  const recvTs = r.recvTs;
  const recvProblem = timeProblem(recvTs);
  if (recvProblem !== null) return fail('schema_violation', `recvTs: ${recvProblem}`);
  const exchange = r.exchange;
  if (exchange !== undefined && (typeof exchange !== 'string' || exchange.length > 16)) {
    return fail('schema_violation', `exchange: must be a string of at most 16 characters, got ${describe(exchange)}`);
  }
  const conditions = r.conditions;
  if (conditions !== undefined) {
    if (!Array.isArray(conditions) || conditions.length > 8) {
      return fail('schema_violation', `conditions: must be an array of at most 8 strings, got ${describe(conditions)}`);
    }
    for (let i = 0; i < conditions.length; i++) {
      const c: unknown = conditions[i];
      if (typeof c !== 'string' || c.length > 8) {
        return fail(
          'schema_violation',
          `conditions[${i}]: must be a string of at most 8 characters, got ${describe(c)}`,
        );
      }
    }
  }
  // Narrowed by timeProblem above.
  const tsN = ts as number;
  const recvN = recvTs as number;

  let tick: Tick;
  if (type === 'trade') {
    const price = r.price;
    if (typeof price !== 'number' || !Number.isFinite(price)) {
      return fail('schema_violation', `price: must be a finite number, got ${describe(price)}`);
    }
    const size = r.size;
    if (typeof size !== 'number' || !Number.isFinite(size)) {
      return fail('schema_violation', `size: must be a finite number, got ${describe(size)}`);
    }
    if (!idMatches(id, source, symbol, seq)) {
      return fail('schema_violation', `id: ${describe(id)} is not ${source}:${symbol}:${seq}`);
    }
    const bad = priceProblem('price', price, limits) ?? sizeProblem('size', size, limits, false);
    if (bad !== null) return bad;
    const t: TradeTick = { v: TICK_SCHEMA_VERSION, id, source, symbol, seq, ts: tsN, recvTs: recvN, type, price, size };
    tick = t;
  } else {
    const bid = r.bid;
    const bidSize = r.bidSize;
    const ask = r.ask;
    const askSize = r.askSize;
    if (typeof bid !== 'number' || !Number.isFinite(bid)) {
      return fail('schema_violation', `bid: must be a finite number, got ${describe(bid)}`);
    }
    if (typeof bidSize !== 'number' || !Number.isFinite(bidSize)) {
      return fail('schema_violation', `bidSize: must be a finite number, got ${describe(bidSize)}`);
    }
    if (typeof ask !== 'number' || !Number.isFinite(ask)) {
      return fail('schema_violation', `ask: must be a finite number, got ${describe(ask)}`);
    }
    if (typeof askSize !== 'number' || !Number.isFinite(askSize)) {
      return fail('schema_violation', `askSize: must be a finite number, got ${describe(askSize)}`);
    }
    if (!idMatches(id, source, symbol, seq)) {
      return fail('schema_violation', `id: ${describe(id)} is not ${source}:${symbol}:${seq}`);
    }
    const bad =
      priceProblem('bid', bid, limits) ??
      priceProblem('ask', ask, limits) ??
      sizeProblem('bidSize', bidSize, limits, true) ??
      sizeProblem('askSize', askSize, limits, true);
    if (bad !== null) return bad;
    if (ask < bid) return fail('crossed_quote', `ask ${ask} < bid ${bid}`);
    const q: QuoteTick = {
      v: TICK_SCHEMA_VERSION,
      id,
      source,
      symbol,
      seq,
      ts: tsN,
      recvTs: recvN,
      type,
      bid,
      bidSize,
      ask,
      askSize,
    };
    tick = q;
  }
  if (exchange !== undefined) tick.exchange = exchange as string;
  if (conditions !== undefined) tick.conditions = conditions as string[];

  if (limits.maxAheadUs !== null && tsN - nowUs > limits.maxAheadUs) {
    return fail('timestamp_too_far_ahead', `ts is ${tsN - nowUs} µs ahead of now (limit ${limits.maxAheadUs})`);
  }
  if (limits.maxBehindUs !== null && nowUs - tsN > limits.maxBehindUs) {
    return fail('timestamp_too_far_behind', `ts is ${nowUs - tsN} µs behind now (limit ${limits.maxBehindUs})`);
  }
  if (reference !== undefined && !reference.has(symbol)) {
    return fail('unknown_symbol', `symbol ${JSON.stringify(symbol)} is not in the symbol master`);
  }
  return { ok: true, tick };
}
