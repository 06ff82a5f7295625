import type { DeliveryState } from '../../core/schemas/webhook.ts';
import {
  CLOSED,
  breakerAcquire,
  breakerAt,
  breakerRecord,
  breakerRetryAt,
  type BreakerOptions,
  type BreakerState,
} from '../../core/webhooks/breaker.ts';
import { urlRefusal, type EndpointConfig } from '../../core/webhooks/endpoint.ts';
import { judgeAttempt, type Verdict } from '../../core/webhooks/outcome.ts';
import { payloadFor } from '../../core/webhooks/payload.ts';
import type { Logger } from '../../infra/logger.ts';
import { endpointAgent, postOnce, type EndpointAgent } from './http.ts';
import type { WebhookMetrics } from './metrics.ts';
import { webhookHeaders } from './sign.ts';

/** A delivery in memory: its recorded state plus the body (built once; null until first needed after a resume). */
export type Delivery = DeliveryState & { body: string | null };

export interface EndpointQueueOptions {
  endpoint: EndpointConfig;
  secrets: Buffer[];
  allowedHosts: readonly string[];
  timeoutMs: number;
  concurrency: number;
  breaker: BreakerOptions;
  metrics: WebhookMetrics;
  log: Logger;
  now: () => number;
  /** Each attempt's verdict; the dispatcher decides what follows (finish, retry, dead letter). */
  onResult: (d: Delivery, verdict: Verdict) => void;
}

/**
 * One endpoint's deliveries: due ones in arrival order, at most `concurrency` in flight, the rest waiting for
 * their retry timer or for the circuit breaker. Nothing here waits on another endpoint or on the caller.
 */
export class EndpointQueue {
  readonly endpoint: EndpointConfig;
  disabled = false;
  private readonly ready: Delivery[] = [];
  private readonly timers = new Map<Delivery, NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private breaker: BreakerState = CLOSED;
  private breakerTimer: NodeJS.Timeout | null = null;
  private readonly agent: EndpointAgent;
  private stopped = false;

  constructor(private readonly o: EndpointQueueOptions) {
    this.endpoint = o.endpoint;
    this.agent = endpointAgent(o.endpoint.url, o.concurrency);
  }

  /** Queues `d` for an attempt in `delayMs` (0 = as soon as a slot and the breaker allow). */
  schedule(d: Delivery, delayMs: number): void {
    if (this.stopped || this.disabled) return;
    if (delayMs <= 0) {
      this.ready.push(d);
      this.pump();
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(d);
      this.ready.push(d);
      this.pump();
    }, delayMs);
    this.timers.set(d, t);
  }

  /** After a 410: every queued or waiting delivery is handed back (to be dead-lettered); nothing more is sent. */
  disable(): Delivery[] {
    this.disabled = true;
    this.o.metrics.disabled.set({ endpoint: this.endpoint.name }, 1);
    const out = [...this.ready.splice(0), ...this.timers.keys()];
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    return out;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    if (this.breakerTimer) clearTimeout(this.breakerTimer);
    await Promise.all(this.inFlight);
    this.agent.destroy();
  }

  private pump(): void {
    while (!this.stopped && !this.disabled && this.ready.length && this.inFlight.size < this.o.concurrency) {
      const now = this.o.now();
      const { allowed, state } = breakerAcquire(this.breaker, now);
      this.setBreaker(state);
      if (!allowed) {
        // Open: wake when it half-opens. Half-open with its probe out: the probe's result pumps again.
        const at = breakerRetryAt(this.breaker, now);
        if (at !== null && !this.breakerTimer) {
          this.breakerTimer = setTimeout(() => {
            this.breakerTimer = null;
            this.pump();
          }, at - now);
        }
        return;
      }
      const d = this.ready.shift()!;
      const p = this.attempt(d).finally(() => {
        this.inFlight.delete(p);
        this.pump();
      });
      this.inFlight.add(p);
    }
  }

  private async attempt(d: Delivery): Promise<void> {
    const e = this.endpoint;
    d.body ??= payloadFor(d.alert, e.format);
    const started = this.o.now();
    const headers = webhookHeaders(this.o.secrets, d.webhookId, Math.floor(started / 1000), d.body);
    const result = await postOnce(e.url, headers, d.body, { timeoutMs: this.o.timeoutMs, agent: this.agent });
    const now = this.o.now();
    d.attempts++;
    const verdict = judgeAttempt(result, now);
    this.o.metrics.attempts.inc({ endpoint: e.name, outcome: verdict.outcome });
    this.o.metrics.attemptSeconds.observe({ endpoint: e.name }, (now - started) / 1000);
    if (verdict.outcome === 'redirect' && result.kind === 'response' && result.location) {
      this.o.log.warn('endpoint answered a redirect; not followed (point the config at the final URL)', {
        endpoint: e.name,
        location: result.location,
        refusedBecause: urlRefusal(new URL(result.location, e.url).href, this.o.allowedHosts),
      });
    }
    this.setBreaker(breakerRecord(this.breaker, verdict.action === 'done', now, this.o.breaker));
    if (verdict.action !== 'done') {
      this.o.log.debug('webhook attempt failed', {
        endpoint: e.name,
        webhookId: d.webhookId,
        attempt: d.attempts,
        detail: verdict.detail,
      });
    }
    this.o.onResult(d, verdict);
  }

  private setBreaker(s: BreakerState): void {
    const wasClosed = this.breaker.kind === 'closed';
    this.breaker = s;
    const closed = breakerAt(s, this.o.now()).kind === 'closed';
    if (wasClosed !== closed) {
      this.o.metrics.breakerOpen.set({ endpoint: this.endpoint.name }, closed ? 0 : 1);
      this.o.log.warn(closed ? 'circuit breaker closed' : 'circuit breaker open', { endpoint: this.endpoint.name });
    }
  }
}
