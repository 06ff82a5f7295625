import { symbolSchema } from '../core/schemas/tick.ts';

/**
 * The dashboard API's query parameters, checked before anything is read: a symbol must be one the pipeline knows
 * (the symbol master plus what the stream has carried), a range must be well formed, ordered and at most a day.
 * Pure, so the rules are unit-tested without a server; the server turns a refusal into a 400 with its message.
 */
export const MAX_RANGE_US = 24 * 3600 * 1_000_000;
export const DAY_US = 24 * 3600 * 1_000_000;
export const MAX_ALERTS = 500;

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

export interface KnownSymbols {
  has(symbol: string): boolean;
}

export interface TimeRange {
  fromUs: number;
  toUs: number;
}

export interface BarsQuery extends TimeRange {
  symbol: string;
}

export interface AlertsQuery extends TimeRange {
  symbol: string | null;
  limit: number;
}

/** Query parameters as URLSearchParams gives them (only the first value of each name counts). */
export interface Params {
  get(name: string): string | null;
}

const fail = (message: string): { ok: false; message: string } => ({ ok: false, message });

export function parseSymbol(raw: string | null, known: KnownSymbols): Parsed<string> {
  if (raw === null || raw === '') return fail('symbol is required');
  const shape = symbolSchema.safeParse(raw);
  if (!shape.success) return fail(`symbol ${JSON.stringify(raw.slice(0, 40))}: ${shape.error.issues[0]!.message}`);
  if (!known.has(raw)) return fail(`unknown symbol ${JSON.stringify(raw)}`);
  return { ok: true, value: raw };
}

/** The UTC day containing `nowUs`, as [00:00, 24:00). */
export function dayRange(nowUs: number): TimeRange {
  const fromUs = Math.floor(nowUs / DAY_US) * DAY_US;
  return { fromUs, toUs: fromUs + DAY_US };
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
// A full ISO-8601 instant with an explicit zone, so "10:00" never means the server's local time.
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;

function parseDay(raw: string): number | null {
  const m = DAY.exec(raw);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Date.UTC rolls 2026-02-31 over to March: a day that does not round-trip does not exist.
  return new Date(ms).toISOString().slice(0, 10) === raw ? ms * 1000 : null;
}

function parseInstant(name: string, raw: string): Parsed<number> {
  if (!INSTANT.test(raw)) return fail(`${name} must be an ISO-8601 time with a zone, e.g. 2026-11-20T14:30:00Z`);
  const ms = Date.parse(raw);
  if (!Number.isFinite(ms)) return fail(`${name} ${JSON.stringify(raw)} is not a valid time`);
  return { ok: true, value: ms * 1000 };
}

/**
 * `day=YYYY-MM-DD` (a UTC day), or `from` and `to` (ISO instants, from < to, at most a day apart), or nothing: the
 * current UTC day.
 */
export function parseRange(params: Params, nowUs: number): Parsed<TimeRange> {
  const day = params.get('day');
  const from = params.get('from');
  const to = params.get('to');
  if (day !== null) {
    if (from !== null || to !== null) return fail('give either day or from/to, not both');
    const start = parseDay(day);
    if (start === null) return fail(`day must be a date YYYY-MM-DD, got ${JSON.stringify(day.slice(0, 40))}`);
    return { ok: true, value: { fromUs: start, toUs: start + DAY_US } };
  }
  if (from === null && to === null) return { ok: true, value: dayRange(nowUs) };
  if (from === null || to === null) return fail('from and to go together');
  const f = parseInstant('from', from);
  if (!f.ok) return f;
  const t = parseInstant('to', to);
  if (!t.ok) return t;
  if (f.value >= t.value) return fail('from must be before to');
  if (t.value - f.value > MAX_RANGE_US) return fail('a range is at most 24 hours');
  return { ok: true, value: { fromUs: f.value, toUs: t.value } };
}

const ALLOWED = {
  bars: new Set(['symbol', 'day', 'from', 'to']),
  alerts: new Set(['symbol', 'day', 'from', 'to', 'limit']),
};

function unknownParam(params: Iterable<[string, string]>, allowed: ReadonlySet<string>): string | null {
  for (const [k] of params) if (!allowed.has(k)) return k;
  return null;
}

export function parseBarsQuery(
  params: Params & Iterable<[string, string]>,
  known: KnownSymbols,
  nowUs: number,
): Parsed<BarsQuery> {
  const extra = unknownParam(params, ALLOWED.bars);
  if (extra !== null) return fail(`unknown parameter ${JSON.stringify(extra.slice(0, 40))}`);
  const symbol = parseSymbol(params.get('symbol'), known);
  if (!symbol.ok) return symbol;
  const range = parseRange(params, nowUs);
  if (!range.ok) return range;
  return { ok: true, value: { symbol: symbol.value, ...range.value } };
}

export function parseAlertsQuery(
  params: Params & Iterable<[string, string]>,
  known: KnownSymbols,
  nowUs: number,
): Parsed<AlertsQuery> {
  const extra = unknownParam(params, ALLOWED.alerts);
  if (extra !== null) return fail(`unknown parameter ${JSON.stringify(extra.slice(0, 40))}`);
  let symbol: string | null = null;
  if (params.get('symbol') !== null) {
    const s = parseSymbol(params.get('symbol'), known);
    if (!s.ok) return s;
    symbol = s.value;
  }
  const range = parseRange(params, nowUs);
  if (!range.ok) return range;
  let limit = 200;
  const rawLimit = params.get('limit');
  if (rawLimit !== null) {
    if (!/^\d{1,4}$/.test(rawLimit) || Number(rawLimit) < 1 || Number(rawLimit) > MAX_ALERTS) {
      return fail(`limit must be an integer from 1 to ${MAX_ALERTS}`);
    }
    limit = Number(rawLimit);
  }
  return { ok: true, value: { symbol, ...range.value, limit } };
}
