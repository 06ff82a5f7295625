import type { z } from 'zod';
import { TickLakeError } from '../../../core/errors.ts';
import type { Logger } from '../../../infra/logger.ts';
import { TICK_SCHEMA_VERSION, tickId, type QuoteTick, type Tick, type TradeTick } from '../../../core/schemas/tick.ts';
import type { ClientOptions } from './options.ts';

/**
 * The seam between the shared resilient client (ws-client.ts) and one vendor. An adapter knows the vendor's
 * URL, handshake and message shapes; the client knows sockets, heartbeats, backoff and gaps over time. A
 * session is one connection's handshake state; the adapter outlives connections (seq allocation, last trade ids).
 */
export interface SessionContext {
  readonly log: Logger;
  /** JSON-encodes objects; strings go as they are. Dropped silently when the socket is not open. */
  send(message: unknown): void;
  /** Auth and subscriptions are acknowledged: the connection counts as healthy from now on. */
  ready(): void;
  /** Stop the whole source with this error (bad credentials, a subscription the vendor refuses). */
  fatal(error: TickLakeError): void;
  /** Close this connection and reconnect with backoff. */
  reconnect(reason: string): void;
  tick(tick: Tick): void;
  /** Pass bytes the adapter cannot map to the processor, which dead-letters them. */
  malformed(raw: string | Buffer, key: string, reason: string): void;
  /** Report missing messages proven by a vendor sequence. */
  sequenceGap(key: string, missing: number, detail: string): void;
  count(counter: string, n?: number): void;
}

export interface FeedSession {
  onOpen(): void;
  onMessage(data: Buffer, recvTs: number): void;
  /** Sent before a clean close (unsubscribe), so the vendor frees the subscription at once. */
  closingMessages(): unknown[];
}

export interface FeedAdapter {
  readonly vendor: string;
  /** May carry a secret (Finnhub's token): never log it unredacted. */
  readonly url: string;
  readonly headers?: Record<string, string>;
  /** Values to mask in every log line and error. */
  readonly secrets: readonly string[];
  readonly options: ClientOptions;
  /** True when a vendor sequence proves continuity, so an outage alone is not reported as a gap. */
  readonly sequenced: boolean;
  openSession(ctx: SessionContext): FeedSession;
  /** The error for credentials the vendor rejected, naming the variables to check. */
  authError(detail: string): TickLakeError;
}

/** Reads required variables, failing with one error that names every missing one. Values are never echoed. */
export function requireEnv(env: NodeJS.ProcessEnv, vendor: string, names: readonly string[]): string[] {
  const missing = names.filter((n) => !env[n]?.trim());
  if (missing.length > 0) {
    throw new TickLakeError(
      'CONFIG_INVALID',
      `the ${vendor} feed needs the environment variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (not set)`,
      { details: { vendor, missing } },
    );
  }
  return names.map((n) => env[n]!.trim());
}

export function parseFeedOptions<S extends z.ZodType>(schema: S, vendor: string, input: unknown): z.infer<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${vendor}.${i.path.join('.') || '<root>'}: ${i.message}`);
  throw new TickLakeError('CONFIG_INVALID', `invalid ${vendor} feed options:\n${lines.join('\n')}`);
}

export function authRejected(vendor: string, envNames: readonly string[], detail: string): TickLakeError {
  return new TickLakeError(
    'CONFIG_INVALID',
    `${vendor} rejected the credentials (${detail}); check ${envNames.join(' and ')}`,
    { details: { vendor } },
  );
}

/** Parses one frame; on failure passes the raw bytes through and returns undefined. */
export function parseFrame(data: Buffer, ctx: SessionContext, key: string): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch {
    ctx.count('parseErrors');
    ctx.malformed(data, key, 'frame is not valid JSON');
    return undefined;
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Best-effort partition key for something that could not be mapped: its symbol if it names one. */
export function keyOf(element: unknown, fields: readonly string[], fallback: string): string {
  if (isRecord(element)) {
    for (const f of fields) {
      const v = element[f];
      if (typeof v === 'string' && v.length > 0 && v.length <= 32) return v;
    }
  }
  return fallback;
}

/** Vendor condition codes as tick conditions (strings); undefined when absent, null when unreadable. */
export function conditionsOf(value: unknown): string[] | undefined | null {
  if (value === undefined || value === null) return undefined;
  const list = Array.isArray(value) ? value : [value];
  if (!list.every((c) => typeof c === 'string' || (typeof c === 'number' && Number.isFinite(c)))) return null;
  return list.map(String);
}

interface Common {
  source: string;
  symbol: string;
  seq: number;
  ts: number;
  recvTs: number;
  exchange?: string | undefined;
  conditions?: string[] | undefined;
}

function base(c: Common) {
  return {
    v: TICK_SCHEMA_VERSION,
    id: tickId(c.source, c.symbol, c.seq),
    source: c.source,
    symbol: c.symbol,
    seq: c.seq,
    ts: c.ts,
    recvTs: c.recvTs,
    ...(c.exchange !== undefined ? { exchange: c.exchange } : {}),
    ...(c.conditions !== undefined && c.conditions.length > 0 ? { conditions: c.conditions } : {}),
  };
}

export function tradeTick(c: Common & { price: number; size: number }): TradeTick {
  return { ...base(c), type: 'trade', price: c.price, size: c.size };
}

export function quoteTick(c: Common & { bid: number; bidSize: number; ask: number; askSize: number }): QuoteTick {
  return { ...base(c), type: 'quote', bid: c.bid, bidSize: c.bidSize, ask: c.ask, askSize: c.askSize };
}

/**
 * The dispatch of vendors whose frames are JSON arrays of events (Alpaca, Polygon): each element is a control
 * message (`control` returns true once it has handled it), a tick, or malformed and passed on with its reason.
 */
export function dispatchArrayFrame(
  data: Buffer,
  ctx: SessionContext,
  source: string,
  spec: {
    control: (el: Record<string, unknown>) => boolean;
    map: (el: Record<string, unknown>) => Tick | string;
    /** Where an element keeps its symbol, for the dead letter's key. */
    symbolFields: readonly string[];
  },
): void {
  const msg = parseFrame(data, ctx, source);
  if (msg === undefined) return;
  if (!Array.isArray(msg)) return ctx.malformed(data, source, 'frame is not an array');
  for (const el of msg) {
    if (isRecord(el) && spec.control(el)) continue;
    const mapped = isRecord(el) ? spec.map(el) : 'element is not an object';
    if (typeof mapped === 'string') ctx.malformed(JSON.stringify(el), keyOf(el, spec.symbolFields, source), mapped);
    else ctx.tick(mapped);
  }
}
