import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { Config } from '../../../core/config.ts';
import { webhookDeadLetterSchema, type WebhookDeadLetter } from '../../../core/schemas/webhook.ts';
import { webhookIdFor } from '../../../core/webhooks/payload.ts';
import { kafkaClient } from '../../../infra/clients.ts';
import { loadConfig } from '../../../infra/config.ts';
import { createLogger } from '../../../infra/logger.ts';
import { testStackProfile } from '../../../infra/stack/profile.ts';
import { ensureTopics, topicName } from '../../../streaming/topics.ts';
import { WebhookDispatcher, dispatcherSettings } from '../../../streaming/webhooks/dispatcher.ts';
import { createWebhookMetrics } from '../../../streaming/webhooks/metrics.ts';
import { AlertConsumer } from '../../../streaming/webhooks/service.ts';
import { newSecret } from '../../../streaming/webhooks/sign.ts';
import { KafkaDeliveryStore } from '../../../streaming/webhooks/state-store.ts';
import { uniqueName } from '../../support/ids.ts';
import { deleteTopicsWithPrefix, readTopic } from '../../support/kafka.ts';
import { waitForGroup, waitUntil } from '../../support/wait.ts';
import { EndpointServer, produceAlerts, testAlerts, type Behaviour } from '../../support/webhooks.ts';

const prefix = `${uniqueName('wh')}.`;
const SECRET = newSecret();
const env = { ...process.env, WH_TEST_SECRET: SECRET };
const log = createLogger({ test: 'webhooks' }, 'error');
const ok: Behaviour = () => ({ status: 200 });
/** The first `n` requests for each id answer `first`, the rest 200. */
const failFirst =
  (n: number, first: ReturnType<Behaviour>): Behaviour =>
  (k) =>
    k <= n ? first : { status: 200 };

const servers = {
  ok: new EndpointServer(SECRET, ok),
  slow: new EndpointServer(SECRET, failFirst(1, { status: 200, delayMs: 10_000 })),
  error500: new EndpointServer(SECRET, failFirst(2, { status: 500 })),
  throttled: new EndpointServer(SECRET, failFirst(1, { status: 429, headers: { 'retry-after': '1' } })),
  gone: new EndpointServer(SECRET, () => ({ status: 410 })),
  redirect: new EndpointServer(SECRET, () => ({ status: 302, headers: { location: '' } })),
  malformed: new EndpointServer(SECRET, failFirst(1, 'garbage')),
  down: new EndpointServer(SECRET, ok),
  // Where the redirect points: on localhost, which the allowlist below leaves out.
  outside: new EndpointServer(SECRET, ok),
};
let downPort = 0;
let config: Config;
const registry = new Registry();
const kafka = kafkaClient(loadConfig({ env, profile: testStackProfile() }), 'webhooks-test');
let dispatcher: WebhookDispatcher;
let consumer: AlertConsumer;
let store: KafkaDeliveryStore;

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

beforeAll(async () => {
  for (const [name, s] of Object.entries(servers)) if (name !== 'down') await s.listen();
  downPort = await freePort();
  servers.redirect.behaviour = () => ({
    status: 302,
    headers: { location: `http://localhost:${servers.outside.port}/hooks` },
  });
  const endpoint = (name: keyof typeof servers, extra: Record<string, unknown> = {}) => ({
    name,
    url: name === 'down' ? `http://127.0.0.1:${downPort}/hooks` : servers[name].url,
    secretEnv: 'WH_TEST_SECRET',
    ...extra,
  });
  config = loadConfig({
    env: { ...env, TICKLAKE_TOPICS_PREFIX: prefix, TICKLAKE_TOPICS_PARTITIONS: '2' },
    profile: testStackProfile(),
    overrides: {
      webhooks: {
        allowedHosts: ['127.0.0.1'],
        endpoints: [
          endpoint('ok'),
          endpoint('slow', { timeoutMs: 300 }),
          endpoint('error500'),
          endpoint('throttled'),
          endpoint('gone'),
          endpoint('redirect'),
          endpoint('malformed'),
          endpoint('down'),
        ],
        // Milliseconds instead of minutes to hours; five attempts.
        retryScheduleMs: [50, 100, 200, 400],
        retryJitter: 0.2,
        breakerFailures: 1000,
      },
    },
  });
  await ensureTopics(kafka, config);
  store = new KafkaDeliveryStore(kafka, config, log);
  dispatcher = new WebhookDispatcher({
    settings: dispatcherSettings(config),
    store,
    metrics: createWebhookMetrics(registry),
    log,
    env,
  });
  await dispatcher.start();
  consumer = new AlertConsumer(kafka, config, dispatcher, log, (err) => {
    throw err;
  });
  await consumer.start();
  await waitForGroup(kafka, consumer.groupId, 1);
});

afterAll(async () => {
  await consumer?.stop();
  await dispatcher?.stop();
  await store?.close();
  for (const s of Object.values(servers)) await s.close().catch(() => {});
  await deleteTopicsWithPrefix(kafka, prefix);
});

async function counter(name: string, labels: Record<string, string>): Promise<number> {
  const m = (await registry.getSingleMetric(name)!.get()).values;
  return m.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0);
}

describe('webhook delivery against failing receivers', () => {
  const alerts = testAlerts(5);
  const ids = alerts.map(webhookIdFor);
  let letters: WebhookDeadLetter[] = [];

  it('delivers to a healthy endpoint at once while the others are slow, failing or down', async () => {
    const t0 = Date.now();
    await produceAlerts(kafka, topicName(config, 'alerts'), alerts, ['{"not":"an alert"}']);
    await waitUntil(() => servers.ok.delivered().size === 5, 'the healthy endpoint to get all five', 10_000);
    // The slow endpoint holds its first requests for 10 s; none of that reaches the healthy one.
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect([...servers.ok.delivered()].sort()).toEqual([...ids].sort());
    expect(servers.ok.hits.every((h) => h.verified)).toBe(true);
  });

  it('loses no alert: every retried endpoint ends with all five, with the same webhook-id throughout', async () => {
    // The receiver that was down comes up on its port mid-schedule.
    await waitUntil(
      async () => (await counter('ticklake_webhook_attempts_total', { endpoint: 'down', outcome: 'network' })) >= 5,
      'attempts on the down endpoint',
    );
    await servers.down.listen(downPort);
    for (const name of ['slow', 'error500', 'throttled', 'malformed', 'down'] as const) {
      await waitUntil(() => servers[name].delivered().size === 5, `${name} to get all five`, 20_000);
      expect([...servers[name].delivered()].sort()).toEqual([...ids].sort());
    }
    for (const s of Object.values(servers)) expect(s.hits.every((h) => h.verified)).toBe(true);
    // Retries of one id carry one body; only the timestamp (and so the signature) changes.
    for (const id of ids) expect(new Set(servers.error500.attemptsOf(id).map((h) => h.body)).size).toBe(1);
  });

  it('honours Retry-After on 429 (1 s) over the 50 ms schedule', () => {
    for (const id of ids) {
      const [first, second] = servers.throttled.attemptsOf(id);
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
    }
  });

  it('bounds a slow receiver by the endpoint timeout', async () => {
    expect(await counter('ticklake_webhook_attempts_total', { endpoint: 'slow', outcome: 'timeout' })).toBe(5);
    for (const id of ids) {
      const [first, second] = servers.slow.attemptsOf(id);
      // Retried after its 300 ms timeout plus the first delay, not after the receiver's 10 s.
      expect(second!.at - first!.at).toBeLessThan(2_000);
    }
  });

  it('dead-letters with the reason: 410 disables the endpoint, a redirect is never followed', async () => {
    await waitUntil(
      async () => {
        letters = (await readTopic(kafka, topicName(config, 'webhooksDlq'), { idleMs: 500 })).map((m) =>
          webhookDeadLetterSchema.parse(JSON.parse(m.value!.toString())),
        );
        return letters.length >= 11;
      },
      'dead letters',
      30_000,
      500,
    );
    const of = (endpoint: string | null) => letters.filter((l) => l.endpoint === endpoint);
    expect(
      of('gone')
        .map((l) => l.webhookId)
        .sort(),
    ).toEqual([...ids].sort());
    expect(of('gone').every((l) => l.reason === 'endpoint_gone' && l.alert !== null)).toBe(true);
    // Disabled after the first 410: the remaining alerts were not sent to it at all.
    expect(servers.gone.hits.length).toBeLessThan(5);
    expect(await counter('ticklake_webhook_endpoint_disabled', { endpoint: 'gone' })).toBe(1);

    expect(
      of('redirect')
        .map((l) => l.webhookId)
        .sort(),
    ).toEqual([...ids].sort());
    for (const l of of('redirect')) {
      expect(l.reason).toBe('attempts_exhausted');
      expect(l.attempts).toBe(5);
      expect(l.detail).toMatch(/HTTP 302 to http:\/\/localhost:\d+\/hooks: redirects are not followed/);
    }
    expect(servers.redirect.hits.length).toBe(25);
    expect(servers.outside.hits.length).toBe(0);

    // The record on `alerts` that is not an alert: dead-lettered with its bytes, nothing crashed.
    const [bad] = of(null);
    expect(bad).toMatchObject({ reason: 'invalid_alert', alert: null });
    expect(Buffer.from(bad!.original!, 'base64').toString()).toBe('{"not":"an alert"}');
  });

  it('counts every attempt by endpoint and outcome', async () => {
    const c = (endpoint: string, outcome: string) => counter('ticklake_webhook_attempts_total', { endpoint, outcome });
    expect(await c('ok', 'delivered')).toBe(5);
    expect(await c('error500', 'server_error')).toBe(10);
    expect(await c('error500', 'delivered')).toBe(5);
    expect(await c('throttled', 'throttled')).toBe(5);
    expect(await c('malformed', 'malformed')).toBe(5);
    expect(await c('redirect', 'redirect')).toBe(25);
    expect(await c('gone', 'gone')).toBe(servers.gone.hits.length);
    expect(await c('down', 'network')).toBeGreaterThanOrEqual(5);
    expect(await c('down', 'delivered')).toBe(5);
  });

  it('leaves nothing unfinished in the state topic', async () => {
    await waitUntil(() => dispatcher.pendingCount() === 0, 'no pending delivery', 10_000);
    const fresh = new KafkaDeliveryStore(kafka, config, log);
    expect(await fresh.load()).toEqual([]);
    await fresh.close();
  });
});

describe('an embedded dispatcher (submit, no consumer) with a circuit breaker', () => {
  it('stops calling a failing endpoint while its breaker is open, probes once, and delivers all once healed', async () => {
    const failing = await new EndpointServer(SECRET, () => ({ status: 500 })).listen();
    const healthy = await new EndpointServer(SECRET, ok).listen();
    const settings = {
      ...dispatcherSettings(config),
      endpoints: [
        {
          name: 'flaky',
          url: failing.url,
          secretEnv: 'WH_TEST_SECRET',
          // One at a time, so the breaker sees each failure before the next request.
          concurrency: 1,
          minSeverity: 'info' as const,
          format: 'standard' as const,
        },
        {
          name: 'fine',
          url: healthy.url,
          secretEnv: 'WH_TEST_SECRET',
          minSeverity: 'critical' as const,
          format: 'slack' as const,
        },
      ],
      retry: { scheduleMs: Array(20).fill(10), jitter: 0, maxRetryAfterMs: 1000 },
      breaker: { failureThreshold: 2, cooldownMs: 1_000 },
    };
    const own = new WebhookDispatcher({ settings, store, metrics: createWebhookMetrics(new Registry()), log, env });
    await own.start();
    try {
      const alerts = [...testAlerts(2), ...testAlerts(1, { severity: 'critical' })];
      const t0 = Date.now();
      await own.submit(alerts);
      // Filters: only the critical alert goes to `fine`, as a Slack message.
      await waitUntil(() => healthy.delivered().size === 1, 'the critical alert on the other endpoint', 5_000);
      expect(JSON.parse(healthy.hits[0]!.body).text).toMatch(/^:rotating_light: \*critical\*/);
      await waitUntil(() => failing.hits.length >= 2, 'two failures', 5_000);
      await new Promise((r) => setTimeout(r, 600));
      // Open after two failures: at 10 ms retries, 600 ms would otherwise have brought dozens of attempts.
      expect(failing.hits.length).toBe(2);
      await waitUntil(() => failing.hits.length === 3, 'the half-open probe', 5_000);
      expect(failing.hits[2]!.at - t0).toBeGreaterThanOrEqual(950);
      failing.behaviour = ok;
      await waitUntil(() => failing.delivered().size === 3, 'all three after the next probe', 5_000);
      expect(failing.hits.length).toBeLessThanOrEqual(6);
      await waitUntil(() => own.pendingCount() === 0, 'nothing pending', 5_000);
    } finally {
      await own.stop();
      await failing.close();
      await healthy.close();
    }
  });
});

describe('the delivery state topic', () => {
  it('gets records only for deliveries not acknowledged while their write lingered', async () => {
    const healthy = await new EndpointServer(SECRET, ok).listen();
    const failing = await new EndpointServer(SECRET, () => ({ status: 500 })).listen();
    const endpoint = (name: string, url: string) => ({
      name,
      url,
      secretEnv: 'WH_TEST_SECRET',
      minSeverity: 'info' as const,
      format: 'standard' as const,
    });
    const own = new WebhookDispatcher({
      settings: {
        ...dispatcherSettings(config),
        endpoints: [endpoint('acked', healthy.url), endpoint('failing', failing.url)],
        retry: { scheduleMs: [60_000], jitter: 0, maxRetryAfterMs: 1000 },
      },
      // A long linger, so a loopback answer always comes first on a loaded machine.
      store: new KafkaDeliveryStore(kafka, config, log, 1_000),
      metrics: createWebhookMetrics(new Registry()),
      log,
      env,
    });
    await own.start();
    const alerts = testAlerts(3);
    try {
      await own.submit(alerts);
      expect(healthy.delivered().size).toBe(3);
      await waitUntil(() => failing.hits.length === 3, 'the failed first attempts', 5_000);
      const keysOf = async () =>
        (await readTopic(kafka, topicName(config, 'webhooksState'), { idleMs: 500 }))
          .map((m) => m.key!)
          .filter((k) => alerts.some((a) => k.endsWith(`/${webhookIdFor(a)}`)));
      await waitUntil(async () => (await keysOf()).length >= 3, 'records of the failing deliveries', 10_000, 300);
      // The failing ones: the pending record and the update after the failed attempt, under one key each.
      expect([...new Set(await keysOf())].sort()).toEqual(alerts.map((a) => `failing/${webhookIdFor(a)}`).sort());
    } finally {
      await own.stop();
      await healthy.close();
      await failing.close();
    }
  });
});

describe('alerts too old to be news', () => {
  it('dead-letters an alert older than webhooks.maxAlertAgeSec as too_old, and delivers the fresh ones', async () => {
    const healthy = await new EndpointServer(SECRET, ok).listen();
    const own = new WebhookDispatcher({
      settings: {
        ...dispatcherSettings(config),
        endpoints: [
          { name: 'aged', url: healthy.url, secretEnv: 'WH_TEST_SECRET', minSeverity: 'info', format: 'standard' },
        ],
        maxAlertAgeMs: 900_000,
      },
      store,
      metrics: createWebhookMetrics(new Registry()),
      log,
      env,
    });
    await own.start();
    // A first start over retained history: an alert about a move two hours ago, beside two of now.
    const [old] = testAlerts(1).map((a) => ({ ...a, ts: a.ts - 7_200_000_000 }));
    const fresh = testAlerts(2);
    try {
      await own.submit([old!, ...fresh]);
      await waitUntil(() => healthy.delivered().size === 2, 'the fresh alerts', 5_000);
      const letterOf = async () =>
        (await readTopic(kafka, topicName(config, 'webhooksDlq'), { idleMs: 500 }))
          .map((m) => JSON.parse(m.value!.toString()) as WebhookDeadLetter)
          .find((l) => l.webhookId === webhookIdFor(old!));
      await waitUntil(async () => (await letterOf()) !== undefined, 'the old alert dead-lettered', 10_000, 300);
      expect(await letterOf()).toMatchObject({ reason: 'too_old', endpoint: 'aged', attempts: 0, alert: old });
      expect([...healthy.delivered()].sort()).toEqual(fresh.map(webhookIdFor).sort());
      expect(own.pendingCount()).toBe(0);
    } finally {
      await own.stop();
      await healthy.close();
    }
  });
});
