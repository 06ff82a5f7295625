import type { Alert } from '../../core/schemas/alert.ts';
import {
  WEBHOOK_SCHEMA_VERSION,
  deliveryKey,
  type DeliveryState,
  type WebhookDeadLetter,
  type WebhookDlqReason,
} from '../../core/schemas/webhook.ts';
import { checkEndpoints, secretEnvNames, type EndpointConfig } from '../../core/webhooks/endpoint.ts';
import { matchesFilter } from '../../core/webhooks/filter.ts';
import type { judgeAttempt } from '../../core/webhooks/outcome.ts';
import { payloadFor, webhookIdFor } from '../../core/webhooks/payload.ts';
import { maxAttempts, nextRetryDelay, type RetryPolicy } from '../../core/webhooks/schedule.ts';
import type { Config } from '../../core/config.ts';
import type { Logger } from '../../infra/logger.ts';
import { EndpointQueue, type Delivery } from './endpoint-queue.ts';
import type { WebhookMetrics } from './metrics.ts';
import { secretKey } from './sign.ts';
import type { DeliveryStore } from './state-store.ts';

export interface DispatcherSettings {
  endpoints: readonly EndpointConfig[];
  allowedHosts: readonly string[];
  retry: RetryPolicy;
  timeoutMs: number;
  concurrency: number;
  breaker: { failureThreshold: number; cooldownMs: number };
  /** Alerts older than this (event time) at submit are dead-lettered `too_old`; 0 = no limit. */
  maxAlertAgeMs: number;
}

export function dispatcherSettings(config: Config): DispatcherSettings {
  const w = config.webhooks;
  return {
    endpoints: w.endpoints,
    allowedHosts: w.allowedHosts,
    retry: { scheduleMs: w.retryScheduleMs, jitter: w.retryJitter, maxRetryAfterMs: w.maxRetryAfterMs },
    timeoutMs: w.timeoutMs,
    concurrency: w.concurrency,
    breaker: { failureThreshold: w.breakerFailures, cooldownMs: w.breakerCooldownMs },
    maxAlertAgeMs: w.maxAlertAgeSec * 1000,
  };
}

export interface DispatcherDeps {
  settings: DispatcherSettings;
  store: DeliveryStore;
  metrics: WebhookMetrics;
  log: Logger;
  /** Where secrets are read from (process.env in production). */
  env?: Readonly<Record<string, string | undefined>>;
  now?: () => number;
  random?: () => number;
}

/**
 * Delivers alerts to the configured endpoints: embeddable in any process that has alerts (`ticklake webhooks`
 * feeds it from the `alerts` topic). Each endpoint has its own queue, concurrency limit and circuit breaker, so a
 * slow or dead one holds up nothing else; `submit` starts the first attempts at once and resolves when the
 * deliveries are durably recorded — the caller commits its input only then, so a crash never skips an alert.
 */
export class WebhookDispatcher {
  private readonly queues = new Map<string, EndpointQueue>();
  private readonly pending = new Map<string, Delivery>();
  private readonly now: () => number;
  private readonly random: () => number;
  private started = false;
  private stopping = false;

  constructor(private readonly deps: DispatcherDeps) {
    const { settings } = deps;
    const env = deps.env ?? process.env;
    // Refuses a URL outside the allowlist, plain http beyond loopback, a missing or malformed secret.
    checkEndpoints(settings.endpoints, settings.allowedHosts, env);
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
    for (const e of settings.endpoints) {
      const secrets = secretEnvNames(e).map((v) => secretKey(env[v]!));
      this.queues.set(
        e.name,
        new EndpointQueue({
          endpoint: e,
          secrets,
          allowedHosts: settings.allowedHosts,
          timeoutMs: e.timeoutMs ?? settings.timeoutMs,
          concurrency: e.concurrency ?? settings.concurrency,
          breaker: settings.breaker,
          metrics: deps.metrics,
          log: deps.log,
          now: this.now,
          onResult: (d, r) => this.onResult(d, r),
        }),
      );
    }
  }

  /** Resumes every delivery the store holds unfinished, with its webhook-id, attempt count and due time. */
  async start(): Promise<{ resumed: number }> {
    if (this.started) return { resumed: 0 };
    this.started = true;
    const states = await this.deps.store.load();
    let resumed = 0;
    const removed: Delivery[] = [];
    for (const s of states) {
      const d: Delivery = { ...s, body: null };
      const q = this.queues.get(s.endpoint);
      this.pending.set(deliveryKey(s.endpoint, s.webhookId), d);
      this.deps.metrics.pending.inc({ endpoint: s.endpoint });
      if (!q) {
        removed.push(d);
        continue;
      }
      if (s.attempts >= maxAttempts(this.deps.settings.retry)) {
        void this.deadLetter(d, 'attempts_exhausted', s.lastDetail ?? 'no attempt left at restart');
      } else {
        q.schedule(d, Math.max(0, s.nextAttemptAt - this.now()));
        resumed++;
      }
    }
    for (const d of removed) {
      void this.deadLetter(d, 'endpoint_removed', `endpoint ${d.endpoint} is no longer configured`);
    }
    return { resumed };
  }

  /** Endpoint names (for logs and tests). */
  endpointNames(): string[] {
    return [...this.queues.keys()];
  }

  /** Deliveries not yet finished. */
  pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Queues every alert to every endpoint whose filter matches it, the first attempt going out now. Resolves once
   * all of them are recorded in the store (the first attempts do not wait for that).
   */
  async submit(alerts: readonly Alert[]): Promise<void> {
    if (!this.started) throw new Error('WebhookDispatcher.submit before start');
    const records: DeliveryState[] = [];
    const tooOld: WebhookDeadLetter[] = [];
    const now = this.now();
    const maxAge = this.deps.settings.maxAlertAgeMs;
    for (const alert of alerts) {
      const webhookId = webhookIdFor(alert);
      const ageMs = now - alert.ts / 1000;
      if (maxAge > 0 && ageMs > maxAge) {
        for (const q of this.queues.values()) {
          if (!matchesFilter(q.endpoint, alert)) continue;
          tooOld.push({
            v: WEBHOOK_SCHEMA_VERSION,
            reason: 'too_old',
            detail: `event time ${Math.round(ageMs / 1000)} s before delivery (webhooks.maxAlertAgeSec ${maxAge / 1000})`,
            endpoint: q.endpoint.name,
            webhookId,
            attempts: 0,
            alert,
            original: null,
            ts: now,
          });
        }
        continue;
      }
      for (const q of this.queues.values()) {
        const e = q.endpoint;
        if (!matchesFilter(e, alert)) continue;
        const key = deliveryKey(e.name, webhookId);
        // Already pending (resumed after a crash, or the same alert consumed twice): one delivery per id.
        if (this.pending.has(key)) continue;
        const d: Delivery = {
          v: WEBHOOK_SCHEMA_VERSION,
          endpoint: e.name,
          webhookId,
          alert,
          attempts: 0,
          nextAttemptAt: now,
          createdAt: now,
          body: payloadFor(alert, e.format),
        };
        this.pending.set(key, d);
        this.deps.metrics.pending.inc({ endpoint: e.name });
        records.push(stateOf(d));
        if (q.disabled) void this.deadLetter(d, 'endpoint_gone', 'endpoint disabled after HTTP 410 Gone');
        else q.schedule(d, 0);
      }
    }
    if (tooOld.length) {
      // One line per batch, not per alert: a first start over hours of retained history gives thousands.
      this.deps.log.warn('alerts too old to deliver, dead-lettered as too_old', {
        count: tooOld.length,
        maxAlertAgeSec: maxAge / 1000,
      });
      await this.deps.store.deadLetter(tooOld);
      for (const l of tooOld) this.deps.metrics.deadLetters.inc({ endpoint: l.endpoint ?? '', reason: 'too_old' });
    }
    await this.deps.store.put(records);
  }

  /** Writes a record that is not an alert to the dead letters (callers consuming `alerts` use it). */
  async rejectInput(original: Buffer | null, detail: string): Promise<void> {
    this.deps.metrics.invalidAlerts.inc();
    await this.deps.store.deadLetter([
      {
        v: WEBHOOK_SCHEMA_VERSION,
        reason: 'invalid_alert',
        detail: detail.slice(0, 1000),
        endpoint: null,
        webhookId: null,
        attempts: 0,
        alert: null,
        original: original ? original.toString('base64') : null,
        ts: this.now(),
      },
    ]);
  }

  /** Stops new attempts, waits for those in flight, and flushes the store. Unfinished deliveries stay recorded. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.queues.values()].map((q) => q.stop()));
  }

  private onResult(d: Delivery, r: ReturnType<typeof judgeAttempt>): void {
    const q = this.queues.get(d.endpoint)!;
    if (r.action === 'done') {
      this.finish(d);
      return;
    }
    if (r.action === 'disable') {
      if (!q.disabled) {
        this.deps.log.error('endpoint answered 410 Gone: disabled until restart; its deliveries are dead-lettered', {
          endpoint: d.endpoint,
        });
        for (const other of q.disable()) void this.deadLetter(other, 'endpoint_gone', r.detail);
      }
      void this.deadLetter(d, 'endpoint_gone', r.detail);
      return;
    }
    d.lastOutcome = r.outcome;
    d.lastDetail = r.detail;
    const delay = nextRetryDelay(d.attempts, this.deps.settings.retry, r.retryAfterMs, this.random);
    if (delay === null) {
      void this.deadLetter(d, 'attempts_exhausted', `${d.attempts} attempts; last: ${r.detail}`);
      return;
    }
    d.nextAttemptAt = this.now() + delay;
    // Recorded so a restart resumes this schedule rather than starting it over; a lost write only means an
    // earlier retry after a crash.
    this.deps.store.put([stateOf(d)]).catch((err: Error) => this.storeFailed(d, err));
    if (!this.stopping) q.schedule(d, delay);
  }

  private finish(d: Delivery): void {
    this.pending.delete(deliveryKey(d.endpoint, d.webhookId));
    this.deps.metrics.pending.dec({ endpoint: d.endpoint });
    this.deps.store.finish([d]).catch((err: Error) => this.storeFailed(d, err));
  }

  private async deadLetter(d: Delivery, reason: WebhookDlqReason, detail: string): Promise<void> {
    const letter: WebhookDeadLetter = {
      v: WEBHOOK_SCHEMA_VERSION,
      reason,
      detail: detail.slice(0, 1000),
      endpoint: d.endpoint,
      webhookId: d.webhookId,
      attempts: d.attempts,
      alert: d.alert,
      original: null,
      ts: this.now(),
    };
    this.deps.log.warn('webhook dead-lettered', { endpoint: d.endpoint, webhookId: d.webhookId, reason, detail });
    try {
      // The dead letter is durable before the delivery is finished: a crash in between dead-letters it twice,
      // never zero times.
      await this.deps.store.deadLetter([letter]);
      this.deps.metrics.deadLetters.inc({ endpoint: d.endpoint, reason });
      this.finish(d);
    } catch (err) {
      this.storeFailed(d, err as Error);
    }
  }

  private storeFailed(d: Delivery, err: Error): void {
    this.deps.log.error('webhook delivery state not written (a restart may repeat this delivery)', {
      endpoint: d.endpoint,
      webhookId: d.webhookId,
      error: err.message,
    });
  }
}

function stateOf(d: Delivery): DeliveryState {
  const { body: _body, ...state } = d;
  return state;
}
