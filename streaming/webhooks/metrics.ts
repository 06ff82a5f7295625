import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Webhook delivery metrics (`ticklake_webhook_*`), labelled by endpoint name. */
export function createWebhookMetrics(registry?: Registry) {
  const registers = registry ? [registry] : [];
  return {
    attempts: new Counter({
      name: 'ticklake_webhook_attempts_total',
      help: 'HTTP delivery attempts by endpoint and outcome (core/webhooks/outcome.ts ATTEMPT_OUTCOMES)',
      labelNames: ['endpoint', 'outcome'],
      registers,
    }),
    deadLetters: new Counter({
      name: 'ticklake_webhook_dead_letters_total',
      help: 'Deliveries given up, by endpoint and reason',
      labelNames: ['endpoint', 'reason'],
      registers,
    }),
    pending: new Gauge({
      name: 'ticklake_webhook_pending',
      help: 'Deliveries not yet delivered or dead-lettered (queued, waiting for a retry or in flight)',
      labelNames: ['endpoint'],
      registers,
    }),
    breakerOpen: new Gauge({
      name: 'ticklake_webhook_breaker_open',
      help: '1 while the endpoint’s circuit breaker is open or half-open',
      labelNames: ['endpoint'],
      registers,
    }),
    disabled: new Gauge({
      name: 'ticklake_webhook_endpoint_disabled',
      help: '1 once the endpoint answered 410 Gone (until restart)',
      labelNames: ['endpoint'],
      registers,
    }),
    attemptSeconds: new Histogram({
      name: 'ticklake_webhook_attempt_seconds',
      help: 'Duration of one HTTP attempt',
      labelNames: ['endpoint'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 10],
      registers,
    }),
    invalidAlerts: new Counter({
      name: 'ticklake_webhook_invalid_alerts_total',
      help: 'Records on the alerts topic that are not alerts (dead-lettered)',
      registers,
    }),
  };
}
export type WebhookMetrics = ReturnType<typeof createWebhookMetrics>;
