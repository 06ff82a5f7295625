import { describe, expect, it } from 'vitest';
import type { DlqReason } from '../../../core/schemas/dlq.ts';
import type { ReferenceSymbol } from '../../../core/schemas/reference.ts';
import { tickId, tickSchema } from '../../../core/schemas/tick.ts';
import { SeededRandom } from '../../../core/seeded-random.ts';
import { DEFAULT_VALIDATION_LIMITS, decodeRawTick, validationLimitsSchema } from '../../../core/validate.ts';
import type { ValidationLimits } from '../../../core/validate.ts';
import { MIN, SEC, T0 } from './fixtures.ts';

const NOW = T0 + 10 * SEC;
const LIMITS = DEFAULT_VALIDATION_LIMITS;

const trade = {
  v: 1,
  id: 'synth:AAPL:42',
  source: 'synth',
  symbol: 'AAPL',
  seq: 42,
  ts: T0,
  recvTs: T0 + 1500,
  type: 'trade',
  price: 189.25,
  size: 100,
};
const quote = {
  v: 1,
  id: 'synth:MSFT:7',
  source: 'synth',
  symbol: 'MSFT',
  seq: 7,
  ts: T0,
  recvTs: T0 + 900,
  type: 'quote',
  bid: 410.1,
  bidSize: 300,
  ask: 410.12,
  askSize: 0,
};

function json(base: object, patch: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...base, ...patch });
}

// maxBehind is off by default (replays); the cases below set a week so the stale case has a bound to cross.
const WEEK_BEHIND: ValidationLimits = { ...LIMITS, maxBehindUs: 7 * 24 * 3600 * 1_000_000 };

function rejects(value: Parameters<typeof decodeRawTick>[0], limits: ValidationLimits = WEEK_BEHIND, now = NOW) {
  const r = decodeRawTick(value, limits, now);
  if (r.ok) throw new Error(`expected a rejection, got ${JSON.stringify(r.tick)}`);
  return r;
}

describe('decodeRawTick: valid ticks', () => {
  it('returns the trade with unknown fields stripped and optional ones kept', () => {
    const r = decodeRawTick(json(trade, { extra: 'x', exchange: 'XNAS', conditions: ['@', 'F'] }), LIMITS, NOW);
    expect(r).toStrictEqual({ ok: true, tick: { ...trade, exchange: 'XNAS', conditions: ['@', 'F'] } });
  });

  it('accepts a quote from a Buffer, zero sizes and a locked book (ask = bid)', () => {
    expect(decodeRawTick(Buffer.from(json(quote)), LIMITS, NOW)).toStrictEqual({ ok: true, tick: quote });
    const locked = { ...quote, ask: 410.1 };
    expect(decodeRawTick(json(locked), LIMITS, NOW)).toStrictEqual({ ok: true, tick: locked });
  });

  it('accepts seq 0 and event times exactly at the configured bounds', () => {
    const zero = { ...trade, seq: 0, id: 'synth:AAPL:0' };
    expect(decodeRawTick(json(zero), LIMITS, NOW).ok).toBe(true);
    const limits = { ...LIMITS, maxAheadUs: SEC, maxBehindUs: MIN };
    expect(decodeRawTick(json(trade, { ts: NOW + SEC }), limits, NOW).ok).toBe(true);
    expect(decodeRawTick(json(trade, { ts: NOW - MIN }), limits, NOW).ok).toBe(true);
  });

  it('accepts a known symbol when a symbol master is given', () => {
    const ref = new Map<string, ReferenceSymbol>([
      ['AAPL', { symbol: 'AAPL', name: 'Apple', sector: 'IT', exchange: 'NASDAQ', currency: 'USD', beta: 1.2 }],
    ]);
    expect(decodeRawTick(json(trade), LIMITS, NOW, ref).ok).toBe(true);
  });
});

describe('decodeRawTick: every malformed input gets its reason', () => {
  const tooBig = json(trade, { pad: 'x'.repeat(1024 * 1024) });
  const cases: Array<[string, Parameters<typeof decodeRawTick>[0], DlqReason, string]> = [
    ['null value', null, 'invalid_json', 'null'],
    ['empty string', '', 'invalid_json', 'empty'],
    ['empty buffer', Buffer.alloc(0), 'invalid_json', 'empty'],
    ['1 MB string', tooBig, 'payload_too_large', '16384 bytes'],
    ['1 MB buffer', Buffer.from(tooBig), 'payload_too_large', '16384 bytes'],
    ['truncated JSON', json(trade).slice(0, -5), 'invalid_json', 'JSON'],
    ['not JSON', 'hello', 'invalid_json', ''],
    ['JSON array', '[1,2]', 'schema_violation', 'JSON object, got array'],
    ['JSON null', 'null', 'schema_violation', 'JSON object, got null'],
    ['wrong version', json(trade, { v: 2 }), 'schema_violation', 'v:'],
    ['unknown type', json(trade, { type: 'bar' }), 'schema_violation', 'type:'],
    [
      'missing price',
      json(trade, { price: undefined }),
      'schema_violation',
      'price: must be a finite number, got undefined',
    ],
    [
      'price as string',
      json(trade, { price: '189.25' }),
      'schema_violation',
      'price: must be a finite number, got "189.25"',
    ],
    [
      'price Infinity',
      json(trade).replace('"price":189.25', '"price":1e400'),
      'schema_violation',
      'price: must be a finite number, got Infinity',
    ],
    ['size null', json(trade, { size: null }), 'schema_violation', 'size: must be a finite number, got null'],
    ['missing bid', json(quote, { bid: undefined }), 'schema_violation', 'bid:'],
    ['askSize as string', json(quote, { askSize: '5' }), 'schema_violation', 'askSize:'],
    ['negative seq', json(trade, { seq: -1 }), 'schema_violation', 'seq:'],
    ['fractional seq', json(trade, { seq: 1.5 }), 'schema_violation', 'seq:'],
    [
      'ts in ms',
      json(trade, { ts: T0 / 1000 }),
      'schema_violation',
      'ts: 1767312000000 is before 2000-01-01 in µs (is it ms or ns?)',
    ],
    ['ts in ns', json(trade, { ts: T0 * 1000 }), 'schema_violation', 'ts:'],
    ['fractional recvTs', json(trade, { recvTs: T0 + 0.5 }), 'schema_violation', 'recvTs: must be an integer'],
    ['empty symbol', json(trade, { symbol: '', id: 'synth::42' }), 'schema_violation', 'symbol: symbol is empty'],
    ['lower-case symbol', json(trade, { symbol: 'aapl', id: 'synth:aapl:42' }), 'schema_violation', 'symbol:'],
    ['empty source', json(trade, { source: '' }), 'schema_violation', 'source:'],
    [
      'id of another tick',
      json(trade, { id: 'synth:AAPL:43' }),
      'schema_violation',
      'id: "synth:AAPL:43" is not synth:AAPL:42',
    ],
    ['id with another source', json(trade, { id: 'other:AAPL:42' }), 'schema_violation', 'id:'],
    ['id with leading zero', json(trade, { id: 'synth:AAPL:042' }), 'schema_violation', 'id:'],
    ['id with trailing junk', json(trade, { id: 'synth:AAPL:42x' }), 'schema_violation', 'id:'],
    ['id as number', json(trade, { id: 42 }), 'schema_violation', 'id: must be a string'],
    ['exchange too long', json(trade, { exchange: 'X'.repeat(17) }), 'schema_violation', 'exchange:'],
    ['conditions not strings', json(trade, { conditions: [1] }), 'schema_violation', 'conditions[0]:'],
    ['zero price', json(trade, { price: 0 }), 'price_out_of_range', 'price: 0'],
    ['negative price', json(trade, { price: -3 }), 'price_out_of_range', 'price: -3'],
    ['price above max', json(trade, { price: 2e7 }), 'price_out_of_range', 'price: 20000000'],
    ['negative bid', json(quote, { bid: -1 }), 'price_out_of_range', 'bid: -1'],
    ['zero ask', json(quote, { ask: 0 }), 'price_out_of_range', 'ask: 0'],
    ['zero size', json(trade, { size: 0 }), 'size_out_of_range', 'size: 0'],
    ['negative size', json(trade, { size: -5 }), 'size_out_of_range', 'size: -5'],
    ['size above max', json(trade, { size: 1e9 }), 'size_out_of_range', 'size: 1000000000'],
    ['negative bidSize', json(quote, { bidSize: -1 }), 'size_out_of_range', 'bidSize: -1'],
    ['crossed quote', json(quote, { bid: 410.2, ask: 410.1 }), 'crossed_quote', 'ask 410.1 < bid 410.2'],
    ['future ts', json(trade, { ts: NOW + 61 * SEC }), 'timestamp_too_far_ahead', '61000000 µs ahead'],
    ['stale ts', json(trade, { ts: NOW - 8 * 24 * 3600 * SEC }), 'timestamp_too_far_behind', 'behind'],
  ];

  it.each(cases)('%s', (_name, value, reason, detail) => {
    const r = rejects(value);
    expect(r.reason).toBe(reason);
    expect(r.detail).toContain(detail);
  });

  it('counts UTF-8 bytes, not characters, against maxBytes', () => {
    const limits = { ...LIMITS, maxBytes: 400 };
    const base = json(trade, { exchange: undefined, pad: '' });
    const nearLimit = json(trade, { pad: 'é'.repeat(Math.floor((400 - base.length) / 2) + 1) });
    expect(nearLimit.length).toBeLessThanOrEqual(400);
    expect(Buffer.byteLength(nearLimit)).toBeGreaterThan(400);
    expect(rejects(nearLimit, limits).reason).toBe('payload_too_large');
  });

  it('applies configured price, size and time limits', () => {
    const limits = validationLimitsSchema.parse({ minPrice: 1, maxPrice: 100, maxSize: 50, maxAheadUs: 0 });
    expect(rejects(json(trade, { price: 0.5 }), limits).reason).toBe('price_out_of_range');
    expect(rejects(json(trade, { price: 100.01 }), limits).reason).toBe('price_out_of_range');
    expect(rejects(json(trade, { price: 99, size: 51 }), limits).reason).toBe('size_out_of_range');
    expect(rejects(json(trade, { price: 99, size: 50, ts: NOW + 1 }), limits).reason).toBe('timestamp_too_far_ahead');
    expect(decodeRawTick(json(trade, { price: 99, size: 50, ts: NOW }), limits, NOW).ok).toBe(true);
  });

  it('skips time bounds that are disabled with null (replays of old data)', () => {
    const limits = { ...LIMITS, maxAheadUs: null, maxBehindUs: null };
    expect(decodeRawTick(json(trade), limits, NOW + 365 * 24 * 3600 * SEC).ok).toBe(true);
    expect(decodeRawTick(json(trade), limits, NOW - 365 * 24 * 3600 * SEC).ok).toBe(true);
  });

  it('rejects a symbol missing from the symbol master', () => {
    const r = decodeRawTick(json(trade), LIMITS, NOW, new Map());
    expect(r).toStrictEqual({
      ok: false,
      reason: 'unknown_symbol',
      detail: 'symbol "AAPL" is not in the symbol master',
    });
  });
});

describe('validationLimitsSchema', () => {
  it('has documented defaults and reads numbers from strings (environment)', () => {
    expect(DEFAULT_VALIDATION_LIMITS).toEqual({
      maxBytes: 16_384,
      minPrice: 0.000_001,
      maxPrice: 10_000_000,
      maxSize: 100_000_000,
      maxAheadUs: 60_000_000,
      maxBehindUs: null,
    });
    expect(validationLimitsSchema.parse({ maxBytes: '2048' }).maxBytes).toBe(2048);
  });

  it('rejects impossible limits', () => {
    expect(validationLimitsSchema.safeParse({ minPrice: 10, maxPrice: 1 }).success).toBe(false);
    expect(validationLimitsSchema.safeParse({ maxBytes: 0 }).success).toBe(false);
  });
});

describe('decodeRawTick agrees with tickSchema', () => {
  // With limits that add nothing beyond the schema, the hand-written validator must accept exactly what
  // tickSchema accepts (plus the id rule) and return the same object.
  const lax: ValidationLimits = {
    maxBytes: 1 << 20,
    minPrice: Number.MIN_VALUE,
    maxPrice: Number.MAX_VALUE,
    maxSize: Number.MAX_VALUE,
    maxAheadUs: null,
    maxBehindUs: null,
  };
  const weird: unknown[] = [
    undefined,
    null,
    '',
    'AAPL',
    'a',
    'x'.repeat(40),
    0,
    -1,
    1.5,
    1e300,
    T0,
    T0 / 1000,
    2 ** 53,
    true,
    [],
    ['A'],
    ['123456789'],
    {},
    1,
    2,
    'trade',
    'quote',
  ];
  const fields = [
    'v',
    'id',
    'source',
    'symbol',
    'seq',
    'ts',
    'recvTs',
    'type',
    'price',
    'size',
    'bid',
    'bidSize',
    'ask',
    'askSize',
    'exchange',
    'conditions',
  ];

  it.each([1, 2, 3])('on randomly mutated ticks (seed %i)', (seed) => {
    const rng = new SeededRandom(seed);
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const obj: Record<string, unknown> = { ...(rng.uniform() < 0.5 ? trade : quote) };
      const mutations = rng.int(3);
      for (let m = 0; m < mutations; m++) obj[rng.pick(fields)] = rng.pick(weird);
      if (rng.uniform() < 0.5 && typeof obj.source === 'string' && typeof obj.symbol === 'string') {
        obj.id = tickId(obj.source, obj.symbol, obj.seq as number); // keep the id rule satisfied half the time
      }
      const ours = decodeRawTick(JSON.stringify(obj), lax, NOW);
      const reference = tickSchema.safeParse(JSON.parse(JSON.stringify(obj)));
      const idOk =
        reference.success &&
        reference.data.id === tickId(reference.data.source, reference.data.symbol, reference.data.seq);
      expect(ours.ok, JSON.stringify(obj)).toBe(reference.success && idOk);
      if (ours.ok && reference.success) {
        expect(ours.tick).toStrictEqual(reference.data);
        accepted++;
      }
    }
    expect(accepted).toBeGreaterThan(300);
  });
});
