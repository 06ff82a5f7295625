import { NO_MODEL_SCORERS } from '../../../core/models/score.ts';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../../core/schemas/alert.ts';
import type { Bar } from '../../../core/schemas/bar.ts';
import { readRuns } from '../../../dashboard/pipeline-health.ts';
import { DashboardServer } from '../../../dashboard/server.ts';
import { loadRulesFile, rulesFilePath } from '../../../infra/alerts/rules-file.ts';
import { kafkaClient, lakeStorage, temporalClient } from '../../../infra/clients.ts';
import { loadConfig } from '../../../infra/config.ts';
import { createLogger } from '../../../infra/logger.ts';
import { loadShippedReference } from '../../../infra/reference-file.ts';
import { testStackProfile } from '../../../infra/stack/profile.ts';
import { AlertProcessor } from '../../../streaming/alerts/alert-processor.ts';
import { runIngest } from '../../../streaming/ingest.ts';
import { StreamProcessor } from '../../../streaming/processor/processor.ts';
import { ReferenceCache } from '../../../streaming/reference-cache.ts';
import { createSyntheticSource } from '../../../streaming/sources/synthetic/source.ts';
import { ensureTopics, topicName } from '../../../streaming/topics.ts';
import { launchChromium, screenshotDir } from '../../support/chromium.ts';
import { uniqueName } from '../../support/ids.ts';
import { deleteTopicsWithPrefix, readTopic, waitForCaughtUp } from '../../support/kafka.ts';
import { freePort } from '../../support/servers.ts';

/**
 * The dashboard end to end: the server on the real test stack, the pipeline's own processor and speed layer
 * turning a synthetic market into bars and alerts, and a real headless Chromium looking at the page. Topics, groups
 * and the lake prefix are this run's own.
 */
const prefix = `${uniqueName('dash')}.`;
const token = randomBytes(24).toString('hex');
const PARTITIONS = 2;
let config: ReturnType<typeof loadConfig>;
const logLines: string[] = [];
// Every line the server logs (debug up) is kept, to show the token is in none of them.
const serverLog = createLogger({ test: 'dashboard-server' }, 'debug', (line) => logLines.push(line));
const log = createLogger({ test: 'dashboard' }, 'warn');
let kafka: ReturnType<typeof kafkaClient>;
let server: DashboardServer;
let reference: ReferenceCache;
let temporal: Awaited<ReturnType<typeof temporalClient>>;
let browser: Browser;
let context: BrowserContext;
let base: string;
const consoleErrors: string[] = [];
const shots = screenshotDir();

function watch(page: Page, errors = consoleErrors): Page {
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`));
  return page;
}

beforeAll(async () => {
  const port = await freePort();
  config = loadConfig({
    profile: testStackProfile(),
    overrides: {
      topics: { prefix, partitions: PARTITIONS },
      processor: { groupId: `${prefix}processor` },
      alerts: { groupId: `${prefix}alerts`, snapshotIntervalMs: 1000 },
      s3: { lakePrefix: `${prefix.replace(/\.$/, '')}/` },
      dashboard: { port, token, healthIntervalMs: 1000, pricesIntervalMs: 250 },
    },
  });
  kafka = kafkaClient(config, 'dashboard-test');
  await ensureTopics(kafka, config);
  reference = new ReferenceCache(kafka, topicName(config, 'referenceSymbols'), loadShippedReference(), log);
  await reference.start();
  temporal = await temporalClient(config);
  server = new DashboardServer({
    config,
    kafka,
    storage: lakeStorage(config),
    reference,
    temporal: async () => temporal.client,
    log: serverLog,
    registry: new Registry(),
  });
  const bound = await server.start();
  base = `http://127.0.0.1:${bound}`;
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await reference?.stop();
  await temporal?.close();
  if (kafka) await deleteTopicsWithPrefix(kafka, prefix);
});

describe('ticklake dashboard in headless Chromium', () => {
  it('answers 401 with no data without the right token, and signs in from /?token=', async () => {
    const anon = await browser.newContext();
    const signInErrors: string[] = [];
    const page = watch(await anon.newPage(), signInErrors);
    const res = await page.goto(`${base}/`);
    expect(res!.status()).toBe(401);
    expect(await page.locator('#token').count()).toBe(1);
    expect(await page.content()).not.toContain('AAPL');
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong-token-wrong-token' },
      { cookie: 'ticklake_dashboard=nope' },
    ];
    for (const headers of attempts) {
      const api = await anon.request.get(`${base}/api/overview`, { headers });
      expect(api.status()).toBe(401);
      expect(await api.text()).not.toContain('AAPL');
      expect((await anon.request.get(`${base}/api/stream`, { headers })).status()).toBe(401);
      expect((await anon.request.get(`${base}/app.js`, { headers })).status()).toBe(401);
    }
    expect((await page.goto(`${base}/?token=not-the-token`))!.status()).toBe(401);
    const bearer = await anon.request.get(`${base}/api/symbols`, { headers: { authorization: `Bearer ${token}` } });
    expect(bearer.status()).toBe(200);
    // Signing in through the form: the token becomes a cookie and leaves the address.
    await page.goto(`${base}/`);
    await page.fill('#token', token);
    await Promise.all([page.waitForURL(`${base}/`), page.press('#token', 'Enter')]);
    expect(page.url()).not.toContain(token);
    await page.waitForSelector('body[data-ready="true"]');
    const cookie = (await anon.cookies()).find((c) => c.name === 'ticklake_dashboard')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.content()).not.toContain(token);
    // The refused page loads themselves are the only errors: the sign-in page's own assets load without a token.
    expect(signInErrors.length).toBeGreaterThan(0);
    for (const e of signInErrors) expect(e).toMatch(/status of 401/);
    expect(signInErrors.length).toBe(3);
    await anon.close();
  });

  it('refuses unknown symbols and malformed ranges with a 400 and a message', async () => {
    const headers = { authorization: `Bearer ${token}` };
    const cases: [string, RegExp][] = [
      ['/api/bars?symbol=NOPE', /unknown symbol "NOPE"/],
      ['/api/bars', /symbol is required/],
      ['/api/bars?symbol=AAPL&from=2026-11-20T12:00:00Z&to=2026-11-20T11:00:00Z', /from must be before to/],
      ['/api/bars?symbol=AAPL&day=2026-02-30', /day must be a date/],
      ['/api/alerts?limit=100000', /limit must be/],
    ];
    for (const [path, message] of cases) {
      const r = await context.request.get(`${base}${path}`, { headers });
      expect(r.status(), path).toBe(400);
      expect(((await r.json()) as { error: string }).error, path).toMatch(message);
    }
  });

  it('shows a bar the pipeline produced on its chart and an alert in the feed, live, with no console error', async () => {
    await context.addCookies([{ name: 'ticklake_dashboard', value: token, url: base }]);
    const page = watch(await context.newPage());
    await page.goto(`${base}/#symbol=AAPL`);
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.locator('#chart').getAttribute('data-symbol')).toBe('AAPL');
    // The attribution logo stays on (lightweight-charts' licence).
    await page.waitForSelector('#chart a[href*="tradingview.com"]');

    // A market of the last few minutes, through the real processor and speed layer.
    const start = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000).toISOString();
    const source = createSyntheticSource({
      seed: 23,
      symbols: 4,
      maxTicks: 6_000,
      speed: 0,
      start,
      ratePerSymbol: 5,
      tradingHours: false,
      anomalies: { priceJump: { count: 8 }, spreadBlowout: { count: 8 } },
    });
    const processor = new StreamProcessor({ config, kafka, reference, log, instanceId: 'dash-0' });
    const alerts = new AlertProcessor({
      config,
      kafka,
      reference,
      rules: loadRulesFile(rulesFilePath(config)).rules,
      log,
      instanceId: 'dash-0',
      partitions: PARTITIONS,
      scorers: NO_MODEL_SCORERS,
    });
    await Promise.all([processor.start(), alerts.start()]);
    try {
      await runIngest({
        config,
        kafka,
        created: { source, universe: source.universe },
        sourceName: 'synthetic',
        log,
        signal: new AbortController().signal,
        finalWatermark: true,
      });
      await waitForCaughtUp(kafka, config.processor.groupId, topicName(config, 'raw'), 120_000);
      await waitForCaughtUp(kafka, config.alerts.groupId, topicName(config, 'raw'), 120_000);
    } finally {
      await Promise.all([processor.stop(), alerts.stop()]);
    }
    const bars: Bar[] = (await readTopic(kafka, topicName(config, 'bars'))).map((m) => JSON.parse(m.value!.toString()));
    const aapl = bars.filter((b) => b.symbol === 'AAPL').sort((a, b) => a.windowStart - b.windowStart);
    expect(aapl.length, `bars of ${[...new Set(bars.map((b) => b.symbol))].join(',')}`).toBeGreaterThan(3);
    const last = aapl[aapl.length - 1]!;
    const windows = new Set(aapl.map((b) => b.windowStart)).size;

    // The chart holds every window the pipeline closed, the latest one last, and says so in text.
    await page.waitForFunction(
      ([t, n]) => {
        const c = document.getElementById('chart')!;
        return c.dataset.lastTime === String(t) && Number(c.dataset.bars) === n;
      },
      [last.windowStart / 1e6, windows] as const,
      { timeout: 30_000 },
    );
    expect(await page.locator('#last-bar').textContent()).toContain(`C ${last.close.toFixed(2)}`);
    // The market table and movers follow the live prices.
    await page.waitForSelector('#market tr[data-symbol="AAPL"]');
    expect(await page.locator('#market tbody tr').count()).toBe(4);
    expect(await page.locator('#market tr[data-symbol="AAPL"] svg.spark polyline').count()).toBe(1);

    const streamed: Alert[] = (await readTopic(kafka, topicName(config, 'alerts'))).map((m) =>
      JSON.parse(m.value!.toString()),
    );
    expect(streamed.length).toBeGreaterThan(0);
    await page.waitForFunction((n) => document.querySelectorAll('#alert-feed li').length >= n, streamed.length, {
      timeout: 30_000,
    });
    const ids = await page
      .locator('#alert-feed li')
      .evaluateAll((lis) => lis.map((li) => (li as HTMLElement).dataset.id));
    expect(new Set(ids)).toEqual(new Set(streamed.map((a) => a.id)));
    const first = streamed[0]!;
    const item = page.locator(`#alert-feed li[data-id="${first.id}"]`);
    expect(await item.textContent()).toContain(first.rule);
    expect(await item.textContent()).toContain(first.severity);

    // Pipeline health: the processor's group is read and caught up; batch runs link into the Temporal UI.
    await page.waitForFunction(() => document.querySelectorAll('#lag tbody tr').length >= 6);
    const procLag = await page.locator('#lag tbody tr').first().locator('td').last().textContent();
    expect(Number(procLag!.replace(/,/g, ''))).toBeLessThanOrEqual(PARTITIONS);
    // Every run Temporal lists for the panel's kinds is linked, each into the Temporal UI.
    const runs = await readRuns(temporal.client, config);
    await page.waitForFunction((n) => document.querySelectorAll('#runs a').length === n, runs.length);
    const hrefs = await page.locator('#runs a').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href));
    expect(hrefs.sort()).toEqual(runs.map((r) => r.url).sort());
    for (const href of hrefs) {
      expect(href).toMatch(
        new RegExp(`^http://127\\.0\\.0\\.1:${config.stack.temporalUiPort}/namespaces/default/workflows/`),
      );
    }
    await page.screenshot({ path: join(shots, 'dashboard-desktop.png'), fullPage: true });

    // A reload draws the same chart from history (the lake merged with what the server has seen).
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.locator('#chart').getAttribute('data-bars')).toBe(String(windows));
    expect(await page.locator('#alert-feed li').count()).toBe(streamed.length);

    // Keyboard: the skip link comes first, and the symbol picker changes the chart.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.focus('#symbol');
    const other = source.universe.map((r) => r.symbol).find((s) => s !== 'AAPL')!;
    await page.selectOption('#symbol', other);
    await page.waitForFunction(
      (s) =>
        document.getElementById('chart')!.dataset.symbol === s &&
        Number(document.getElementById('chart')!.dataset.bars) > 0,
      other,
    );

    // A phone: one column, nothing wider than the screen.
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
      deviceScaleFactor: 2,
    });
    await phone.addCookies([{ name: 'ticklake_dashboard', value: token, url: base }]);
    const p = watch(await phone.newPage());
    await p.goto(`${base}/#symbol=AAPL`);
    await p.waitForSelector('body[data-ready="true"]');
    await p.waitForFunction(() => Number(document.getElementById('chart')!.dataset.bars) > 0);
    expect(await p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await p.screenshot({ path: join(shots, 'dashboard-phone.png'), fullPage: true });
    await phone.close();

    expect(consoleErrors).toEqual([]);
    expect(logLines.filter((l) => l.includes(token))).toEqual([]);
  }, 300_000);
});
