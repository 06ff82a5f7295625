import { afterEach, describe, expect, it } from 'vitest';
import { isTickLakeError } from '../../../../../core/errors.ts';
import { createFeedSource } from '../../../../../streaming/sources/feeds/index.ts';
import { DRIVERS, type Driver, type FakeFeed } from '../../../../support/fake-feeds/drivers.ts';
import { captureLogger, Consumer, FAST, liveHandles, until } from '../../../../support/fake-feeds/harness.ts';

/**
 * The shared client's resilience, run against every vendor's fake: the same scenarios, each vendor's protocol.
 * random() is pinned to 0.5, so every backoff delay is exactly delay * (1 - jitter / 2).
 */
const HALF_JITTER = 1 - FAST.backoff.jitter / 2;

describe.each(DRIVERS)('$vendor feed resilience', (driver: Driver) => {
  let fake: FakeFeed | undefined;
  let consumer: Consumer | undefined;
  let log: ReturnType<typeof captureLogger>;

  afterEach(async () => {
    await consumer?.stop();
    await fake?.server.close();
    consumer = fake = undefined;
  });

  async function start(opts: Record<string, unknown> = {}, beforeSource?: () => void) {
    fake = await driver.start();
    beforeSource?.();
    log = captureLogger();
    const source = createFeedSource(
      driver.vendor,
      { url: fake.url, symbols: [driver.symbol], ...FAST, ...driver.options, ...opts },
      driver.env,
      { logger: log.logger, random: () => 0.5 },
    );
    consumer = new Consumer(source);
    await until(() => fake!.subscribed(), 'subscribed');
    return { fake, consumer, source };
  }

  const prices = (c: Consumer) => c.ticks().map((t) => (t.type === 'trade' ? t.price : NaN));

  it('reconnects with backoff after a server-initiated close, resubscribes, and the stream continues', async () => {
    const { fake, consumer, source } = await start();
    fake.trade(1);
    await consumer.waitForTicks(1);
    const droppedAt = Date.now();
    fake.server.drop(1001, 'server restart');
    await until(() => fake.server.totalConnections === 2 && fake.subscribed(), 'resubscribed');
    expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(Math.floor(FAST.backoff.initialMs * HALF_JITTER) - 5);
    fake.trade(2);
    await until(() => new Set(consumer.ticks().map((t) => t.id)).size === 2, 'trade 2');
    expect(fake.server.sent((m) => fake.isSubscribe(m)).length).toBe(2);
    expect(source.stats().counters).toMatchObject({ reconnects: 1, connections: 2 });
    expect(log.text()).toContain('connection lost, reconnecting');
  });

  it('detects a half-open connection by heartbeat timeout and reconnects', async () => {
    const { fake, consumer, source } = await start();
    fake.server.freeze();
    await until(() => source.stats().counters.heartbeatTimeouts === 1, 'heartbeat timeout', 2_000);
    await until(() => fake.server.totalConnections === 2 && fake.subscribed(), 'resubscribed');
    fake.trade(3);
    await consumer.waitForTicks(1);
    expect(source.stats().counters.reconnects).toBe(1);
    expect(log.text()).toContain('heartbeat timeout');
  });

  it(
    driver.vendor === 'coinbase'
      ? 'reports no time gap for an outage its trade ids prove was empty'
      : 'reports the outage as a time gap, since the vendor cannot prove nothing was missed',
    async () => {
      const { fake, consumer, source } = await start();
      fake.trade(1);
      await consumer.waitForTicks(1);
      fake.server.kill();
      await until(() => fake.server.totalConnections === 2 && fake.subscribed(), 'resubscribed');
      await until(() => source.stats().counters.connections === 2, 'second connection ready');
      fake.trade(2);
      await until(() => prices(consumer).length >= 2, 'trade after reconnect');
      const counters = source.stats().counters;
      if (driver.vendor === 'coinbase') {
        expect(counters.gaps).toBeUndefined();
      } else {
        expect(counters).toMatchObject({ gaps: 1, gapsOutage: 1 });
        expect(log.text()).toContain('data gap: no data while reconnecting');
      }
    },
  );

  it('reports a silence gap once per silence on a live connection', async () => {
    const { fake, consumer, source } = await start({ silenceGapMs: 120 });
    await until(() => source.stats().counters.gapsSilence === 1, 'silence gap');
    // Five more client pings (40 ms apart) span more than another silenceGapMs of the client's own timers.
    const pings = fake.server.pings;
    await fake.server.waitFor(() => fake.server.pings >= pings + 5, 'five more client pings');
    expect(source.stats().counters.gapsSilence).toBe(1);
    fake.trade(1);
    await consumer.waitForTicks(1);
    await until(() => source.stats().counters.gapsSilence === 2, 'second silence after a tick');
  });

  it('closes cleanly on abort: unsubscribes, sends close 1000, leaves no socket or timer behind', async () => {
    let baseline: Record<string, number> = {};
    const { fake, consumer, source } = await start({}, () => (baseline = liveHandles()));
    fake.trade(1);
    await consumer.waitForTicks(1);
    await consumer.stop();
    await until(() => fake.server.closes.length === 1, 'server saw the close');
    expect(fake.server.closes[0]!.code).toBe(1000);
    expect(fake.server.sent((m) => fake.isUnsubscribe(m))).toHaveLength(1);
    // Both ends of the one connection are gone, and no timer of the client outlives it.
    await until(() => !liveHandles().TCPSocketWrap, 'sockets closed', 2_000);
    expect(liveHandles().Timeout ?? 0).toBeLessThanOrEqual(baseline.Timeout ?? 0);
    expect(consumer.error).toBeUndefined();
    expect(source.stats().emitted).toBe(consumer.records.length);
    await source.close();
  });

  it('never writes its secrets to logs, errors or stats, whatever happens', async () => {
    const { fake, consumer, source } = await start();
    fake.server.broadcast('garbage frame');
    fake.trade(1);
    await consumer.waitForTicks(1);
    fake.server.drop(1011, 'internal error');
    await until(() => fake.server.totalConnections === 2 && fake.subscribed(), 'resubscribed');
    await consumer.stop();
    const everything = `${log.text()}\n${JSON.stringify(source.stats())}`;
    expect(log.lines.length).toBeGreaterThan(3);
    for (const secret of driver.secrets) expect(everything).not.toContain(secret);
  });
});

describe('feed client backoff', () => {
  it('gives up after maxAttempts consecutive failures, waiting longer each time', async () => {
    const { startFakeFinnhub } = await import('../../../../support/fake-feeds/finnhub.ts');
    const fake = await startFakeFinnhub({ token: 'unused-token-1234' });
    const url = fake.url;
    await fake.server.close(); // the port is now refused
    const source = createFeedSource(
      'finnhub',
      { url, symbols: ['AAPL'], ...FAST, backoff: { ...FAST.backoff, maxAttempts: 3 } },
      { FINNHUB_API_KEY: 'unused-token-1234' },
      { logger: captureLogger().logger, random: () => 0.5 },
    );
    const started = Date.now();
    const consumer = new Consumer(source);
    await consumer.done;
    const elapsed = Date.now() - started;
    expect(isTickLakeError(consumer.error, 'UPSTREAM_UNAVAILABLE')).toBe(true);
    expect((consumer.error as Error).message).toContain('gave up after 3 failed connection attempts');
    // 80, 160, 320 ms (× 0.875 jitter) between the four attempts.
    expect(elapsed).toBeGreaterThanOrEqual(Math.floor((80 + 160 + 320) * HALF_JITTER) - 10);
    expect(source.stats().counters).toMatchObject({ connectFailures: 4, reconnects: 3 });
  });

  it('pauses the socket when the consumer falls behind and loses nothing', async () => {
    const { startFakeFinnhub } = await import('../../../../support/fake-feeds/finnhub.ts');
    const fake = await startFakeFinnhub({ token: 'slow-consumer-token' });
    const source = createFeedSource(
      'finnhub',
      { url: fake.url, symbols: ['AAPL'], ...FAST, maxBuffered: 10, maxBatch: 4 },
      { FINNHUB_API_KEY: 'slow-consumer-token' },
      { logger: captureLogger().logger },
    );
    const controller = new AbortController();
    const got: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const loop = (async () => {
      for await (const batch of source.batches(controller.signal)) {
        got.push(batch.length);
        await gate; // a consumer stuck on its first batch
      }
    })();
    await until(() => fake.subscriptions().includes('AAPL'), 'subscribed');
    fake.trades(Array.from({ length: 25 }, (_, i) => ({ s: 'AAPL', p: 1, v: 1, t: 1_709_303_400_000 + i })));
    await until(() => source.stats().counters.pauses === 1, 'paused');
    release();
    await until(() => got.reduce((a, b) => a + b, 0) === 25, 'all 25 records');
    expect(Math.max(...got)).toBeLessThanOrEqual(4);
    controller.abort();
    await loop;
    await fake.server.close();
  });
});
