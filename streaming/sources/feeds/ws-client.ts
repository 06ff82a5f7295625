import WebSocket from 'ws';
import { TickLakeError } from '../../../core/errors.ts';
import type { Logger } from '../../../infra/logger.ts';
import type { Tick } from '../../../core/schemas/tick.ts';
import type { SourceRecord } from '../source.ts';
import type { FeedAdapter, SessionContext } from './adapter.ts';
import { backoffDelay } from '../../../core/retry.ts';
import type { Redactor } from './redact.ts';
import { describeError } from './redact.ts';

/**
 * The resilient connection loop every feed shares: connect, let the adapter authenticate and subscribe, watch
 * liveness with pings, and on any loss reconnect with bounded exponential backoff and jitter (the adapter's
 * session resubscribes on every new connection). Vendors without a sequence cannot prove what an outage cost,
 * so each outage and each long silence is reported as a time gap; sequenced vendors report proven gaps.
 *
 * Counters (SourceStats.counters): connections, connectFailures, reconnects, heartbeatTimeouts, messages,
 * ticks, malformed, parseErrors, vendorErrors, gaps (= gapsSequence + gapsOutage + gapsSilence), gapMissing,
 * pauses, plus any the adapter adds.
 */
export interface FeedClientDeps {
  /** Already redacting (see redact.ts). */
  log: Logger;
  redact: Redactor;
  now?: () => number;
  random?: () => number;
}

type ConnectionEnd = { kind: 'closed'; reason: string; readyForMs?: number } | { kind: 'fatal'; error: TickLakeError };

export class FeedClient {
  private readonly now: () => number;
  private readonly random: () => number;
  private closing: (() => void) | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private paused = false;
  private pausedChanged: ((paused: boolean) => void) | undefined;
  /** Last tick time (ms) and whether a healthy connection was lost since: the outage window. */
  private lastTickAt: number | undefined;
  private outageSince: number | undefined;

  constructor(
    private readonly adapter: FeedAdapter,
    private readonly sink: (record: SourceRecord) => void,
    private readonly counters: Record<string, number>,
    private readonly deps: FeedClientDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
  }

  /** Runs until stop() (resolves) or a fatal error (rejects). */
  async run(): Promise<void> {
    const { backoff } = this.adapter.options;
    const log = this.deps.log;
    let attempt = 0;
    while (!this.stopping) {
      const end = await this.connectOnce();
      if (end.kind === 'fatal') {
        log.error(`${this.adapter.vendor} feed stopped`, { error: end.error.message });
        throw end.error;
      }
      if (this.stopping) return;
      if (end.readyForMs !== undefined && end.readyForMs >= backoff.resetAfterMs) attempt = 0;
      attempt += 1;
      if (backoff.maxAttempts > 0 && attempt > backoff.maxAttempts) {
        throw new TickLakeError(
          'UPSTREAM_UNAVAILABLE',
          `${this.adapter.vendor} feed: gave up after ${backoff.maxAttempts} failed connection attempts (last: ${end.reason})`,
          { details: { vendor: this.adapter.vendor } },
        );
      }
      const delayMs = backoffDelay(attempt, backoff, this.random);
      log.warn(`${this.adapter.vendor} connection lost, reconnecting`, { reason: end.reason, attempt, delayMs });
      await this.sleep(delayMs);
      if (this.stopping) return;
      this.count('reconnects');
    }
  }

  /** Clean shutdown: unsubscribe, close frame, wait for the server's close (bounded), cancel any backoff wait. */
  stop(): void {
    this.stopping = true;
    this.wake?.();
    this.closing?.();
  }

  /** Stop reading from the socket (TCP backpressure) while the consumer catches up. */
  setPaused(paused: boolean): void {
    if (this.paused === paused) return;
    this.paused = paused;
    if (paused) this.count('pauses');
    this.pausedChanged?.(paused);
  }

  private count(name: string, n = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + n;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    }).finally(() => (this.wake = undefined));
  }

  private reportGap(kind: 'Outage' | 'Silence', fromMs: number, toMs: number, detail: string): void {
    this.count('gaps');
    this.count(`gaps${kind}`);
    this.deps.log.warn(`${this.adapter.vendor} data gap: ${detail}`, {
      kind: kind.toLowerCase(),
      fromUs: fromMs * 1000,
      toUs: toMs * 1000,
      durationMs: toMs - fromMs,
    });
  }

  private connectOnce(): Promise<ConnectionEnd> {
    const { adapter, deps } = this;
    const opts = adapter.options;
    const log = deps.log;
    return new Promise<ConnectionEnd>((resolve) => {
      const ws = new WebSocket(adapter.url, {
        headers: adapter.headers,
        handshakeTimeout: opts.connectTimeoutMs,
      });
      let opened = false;
      let readyAt: number | undefined;
      let fatal: TickLakeError | undefined;
      let reason = '';
      let lastError = '';
      let lastActivity = this.now();
      let lastPing = lastActivity;
      let lastTickOnConn = lastActivity;
      let silenceReported = false;
      let heartbeat: NodeJS.Timeout | undefined;
      let readyTimer: NodeJS.Timeout | undefined;
      let closeTimer: NodeJS.Timeout | undefined;

      const endConnection = (why: string) => {
        reason ||= why;
        if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
        else if (ws.readyState === WebSocket.OPEN) {
          ws.close(1000);
          closeTimer ??= setTimeout(() => ws.terminate(), opts.closeTimeoutMs);
        }
      };

      const ctx: SessionContext = {
        log,
        send: (message) => {
          if (ws.readyState === WebSocket.OPEN)
            ws.send(typeof message === 'string' ? message : JSON.stringify(message));
        },
        ready: () => {
          if (readyAt !== undefined) return;
          readyAt = this.now();
          lastTickOnConn = readyAt;
          clearTimeout(readyTimer);
          log.info(`${adapter.vendor} feed ready`, { connection: this.counters.connections });
          if (this.outageSince !== undefined && !adapter.sequenced) {
            this.reportGap('Outage', this.lastTickAt ?? this.outageSince, readyAt, 'no data while reconnecting');
          }
          this.outageSince = undefined;
        },
        fatal: (error) => {
          fatal ??= error;
          endConnection(error.message);
        },
        reconnect: (why) => endConnection(why),
        tick: (tick: Tick) => {
          this.count('ticks');
          const at = this.now();
          this.lastTickAt = at;
          lastTickOnConn = at;
          silenceReported = false;
          this.sink({ key: tick.symbol, value: JSON.stringify(tick) });
        },
        malformed: (raw, key, why) => {
          const n = (this.counters.malformed = (this.counters.malformed ?? 0) + 1);
          // Powers of ten: the first one is visible, a flood does not flood the log.
          if (/^10*$/.test(String(n)))
            log.warn(`${adapter.vendor}: passing unmappable message through`, { reason: why, malformed: n });
          this.sink({ key, value: typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw });
        },
        sequenceGap: (key, missing, detail) => {
          this.count('gaps');
          this.count('gapsSequence');
          this.count('gapMissing', missing);
          log.warn(`${adapter.vendor} sequence gap on ${key}: ${detail}`, { key, missing });
        },
        count: (name, n) => this.count(name, n),
      };
      const session = adapter.openSession(ctx);

      this.closing = () => {
        // Unsubscribing mid-handshake would only draw protocol errors (e.g. Alpaca's 401 "not authenticated").
        if (ws.readyState === WebSocket.OPEN && readyAt !== undefined) {
          for (const m of session.closingMessages()) ctx.send(m);
        }
        endConnection('client shutdown');
      };
      this.pausedChanged = (paused) => {
        if (paused) ws.pause();
        else {
          lastActivity = this.now();
          ws.resume();
        }
      };

      const checkEvery = Math.max(10, Math.min(opts.heartbeat.pingIntervalMs, Math.ceil(opts.heartbeat.timeoutMs / 4)));
      const onHeartbeat = () => {
        const now = this.now();
        // While we hold the socket paused, silence is ours, not the vendor's.
        if (this.paused) {
          lastActivity = now;
          return;
        }
        if (now - lastActivity > opts.heartbeat.timeoutMs) {
          this.count('heartbeatTimeouts');
          reason = `no frame, ping or pong for ${now - lastActivity} ms (heartbeat timeout)`;
          clearInterval(heartbeat);
          ws.terminate();
          return;
        }
        if (now - lastPing >= opts.heartbeat.pingIntervalMs) {
          lastPing = now;
          ws.ping();
        }
        if (
          readyAt !== undefined &&
          opts.silenceGapMs > 0 &&
          !silenceReported &&
          now - lastTickOnConn > opts.silenceGapMs
        ) {
          silenceReported = true;
          this.reportGap('Silence', lastTickOnConn, now, `no tick for ${now - lastTickOnConn} ms on a live connection`);
        }
      };

      ws.on('open', () => {
        opened = true;
        this.count('connections');
        lastActivity = this.now();
        lastPing = lastActivity;
        if (this.paused) ws.pause();
        heartbeat = setInterval(onHeartbeat, checkEvery);
        readyTimer = setTimeout(
          () => endConnection(`not subscribed within ${opts.readyTimeoutMs} ms`),
          opts.readyTimeoutMs,
        );
        try {
          session.onOpen();
        } catch (err) {
          endConnection(`handshake failed: ${describeError(err, deps.redact)}`);
        }
      });
      ws.on('message', (data: WebSocket.RawData) => {
        lastActivity = this.now();
        this.count('messages');
        const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
        try {
          session.onMessage(buf, lastActivity * 1000);
        } catch (err) {
          // An adapter bug must not kill the feed or lose the frame.
          ctx.malformed(buf, adapter.vendor, `adapter error: ${describeError(err, deps.redact)}`);
        }
      });
      ws.on('ping', () => (lastActivity = this.now()));
      ws.on('pong', () => (lastActivity = this.now()));
      ws.on('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        if (status === 401 || status === 403) fatal ??= adapter.authError(`HTTP ${status} on connect`);
        reason ||= `HTTP ${status} on connect`;
        ws.terminate();
      });
      ws.on('error', (err) => {
        lastError = describeError(err, deps.redact);
        log.debug(`${adapter.vendor} socket error`, { error: lastError });
      });
      ws.on('close', (code, buf) => {
        clearInterval(heartbeat);
        clearTimeout(readyTimer);
        clearTimeout(closeTimer);
        this.closing = undefined;
        this.pausedChanged = undefined;
        if (!opened) this.count('connectFailures');
        if (readyAt !== undefined) this.outageSince ??= this.now();
        // A refusal that arrives while we are shutting down anyway is not worth failing the source for.
        if (fatal && !this.stopping) return resolve({ kind: 'fatal', error: fatal });
        const text = deps.redact(buf.toString('utf8'));
        const why = reason || lastError || `closed by server (code ${code}${text ? `: ${text}` : ''})`;
        resolve({
          kind: 'closed',
          reason: why,
          ...(readyAt !== undefined ? { readyForMs: this.now() - readyAt } : {}),
        });
      });
    });
  }
}
