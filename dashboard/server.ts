import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Kafka } from 'kafkajs';
import type { Client } from '@temporalio/client';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Config } from '../core/config.ts';
import { TickLakeError } from '../core/errors.ts';
import type { Alert } from '../core/schemas/alert.ts';
import type { Bar } from '../core/schemas/bar.ts';
import type { Health } from '../infra/health.ts';
import type { Logger } from '../infra/logger.ts';
import { readRows } from '../lake/reader.ts';
import type { Storage } from '../lake/storage/storage.ts';
import { alertsTable, barsTable } from '../lake/tables.ts';
import { json, loadAssets, PUBLIC, SECURITY_HEADERS } from './http.ts';
import { bindRefusal, presentedToken, sessionCookie, tokenMatches } from './auth.ts';
import { LiveFeed } from './live.ts';
import { MarketDay, movers } from './market.ts';
import {
  kafkaAdmin,
  lagTargets,
  RateWindow,
  readLag,
  readRuns,
  temporalUiBase,
  type GroupLag,
  type RunInfo,
} from './pipeline-health.ts';
import { dayRange, parseAlertsQuery, parseBarsQuery, type KnownSymbols } from './query.ts';
import { SseHub } from './sse.ts';

/**
 * `ticklake dashboard`: one node:http server for the page, its API and the live stream. History (the day's bars
 * and alerts) is read from the lake and merged with what the live consumer has seen since; live updates reach
 * every browser over one SSE stream each, all fed by the server's single Kafka consumer (live.ts).
 */
export interface DashboardDeps {
  config: Config;
  kafka: Kafka;
  storage: Storage;
  /** Connects to Temporal for the last batch runs; absent: the panel says runs are not read. */
  temporal?: () => Promise<Client>;
  /** Symbols the pipeline knows (the symbol master); the stream's own symbols are added as they arrive. */
  reference: { readonly symbols: ReadonlyMap<string, unknown> };
  log: Logger;
  registry: Registry;
  health?: Health;
  now?: () => number;
}

export interface HealthSnapshot {
  ts: string;
  ticksPerSec: number;
  bySource: Record<string, number>;
  dlqPerMin: number;
  dlqByReason: Record<string, number>;
  latePerMin: number;
  lag: GroupLag[] | null;
  lagError: string | null;
  runs: RunInfo[] | null;
  runsError: string | null;
  temporalUi: string;
  clients: number;
}

export class DashboardServer {
  private readonly config: Config;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly market: MarketDay;
  private readonly hub: SseHub;
  private readonly live: LiveFeed;
  private readonly assets = loadAssets();
  private readonly seen = new Set<string>();
  private readonly known: KnownSymbols;
  private readonly ticks = new RateWindow(60);
  private readonly dead = new RateWindow(60);
  private readonly lates = new RateWindow(60);
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly admin;
  private server?: Server;
  private temporal?: Client;
  private lag: { value: GroupLag[] | null; error: string | null } = { value: null, error: null };
  private runs: { value: RunInfo[] | null; error: string | null } = { value: null, error: 'not read yet' };
  private lastHealth?: HealthSnapshot;
  private readonly metrics;

  constructor(private readonly deps: DashboardDeps) {
    this.config = deps.config;
    this.log = deps.log;
    this.now = deps.now ?? Date.now;
    const refusal = bindRefusal(this.config.dashboard.host, this.config.dashboard.token);
    if (refusal) throw new TickLakeError('CONFIG_INVALID', refusal);
    this.market = new MarketDay(this.now() * 1000);
    this.metrics = {
      clients: new Gauge({
        name: 'ticklake_dashboard_clients',
        help: 'Open live streams (dashboards)',
        registers: [deps.registry],
      }),
      events: new Counter({
        name: 'ticklake_dashboard_events_total',
        help: 'Events sent to every open dashboard, by kind',
        labelNames: ['event'],
        registers: [deps.registry],
      }),
      invalid: new Counter({
        name: 'ticklake_dashboard_invalid_records_total',
        help: 'Records the dashboard consumer skipped because they did not parse, by topic',
        labelNames: ['topic'],
        registers: [deps.registry],
      }),
    };
    this.hub = new SseHub(undefined, undefined, (n) => this.metrics.clients.set(n));
    const ref = deps.reference;
    this.known = { has: (s) => ref.symbols.has(s) || this.seen.has(s) };
    this.admin = kafkaAdmin(deps.kafka);
    this.live = new LiveFeed(
      deps.kafka,
      this.config,
      {
        bar: (b) => {
          this.seen.add(b.symbol);
          this.market.roll(b.windowStart);
          if (this.market.applyBar(b)) this.send('bar', barOut(b));
        },
        alert: (a) => {
          if (this.market.applyAlert(a)) this.send('alert', a);
        },
        trade: (symbol, price, ts, source) => {
          this.seen.add(symbol);
          this.ticks.add(source, this.now());
          this.market.applyTrade(symbol, price, ts);
        },
        quote: (source) => this.ticks.add(source, this.now()),
        deadLetter: (reason) => this.dead.add(reason, this.now()),
        late: () => this.lates.add('late', this.now()),
        invalid: (topic) => this.metrics.invalid.inc({ topic }),
      },
      this.log,
      deps.health?.dependency('kafka'),
    );
  }

  private send(event: string, data: unknown): void {
    this.metrics.events.inc({ event });
    this.hub.broadcast(event, data);
  }

  get clients(): number {
    return this.hub.size;
  }

  /** Loads the day from the lake, joins Kafka, then listens; resolves with the bound port. */
  async start(): Promise<number> {
    const day = dayRange(this.now() * 1000);
    await this.loadDay(day.fromUs, day.toUs);
    await this.admin.connect();
    await this.live.start();
    const d = this.config.dashboard;
    this.timers.push(
      setInterval(() => {
        const prices = this.market.takeChangedPrices();
        if (prices.length) this.send('prices', prices);
      }, d.pricesIntervalMs),
      setInterval(() => void this.refreshHealth(), d.healthIntervalMs),
      setInterval(() => void this.refreshRuns(), d.runsIntervalMs),
    );
    for (const t of this.timers) t.unref();
    void this.refreshRuns();
    await this.refreshHealth();
    this.server = createServer((req, res) => {
      this.route(req, res).catch((err: Error) => {
        this.log.error('dashboard request failed', { path: pathOf(req), error: err.message });
        if (!res.headersSent) json(res, 500, { error: 'internal error' });
        else res.destroy();
      });
    });
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new TickLakeError(
                'PORT_IN_USE',
                `dashboard port ${d.host}:${d.port} is in use; set dashboard.port (TICKLAKE_DASHBOARD_PORT)`,
                { cause: err },
              )
            : err,
        ),
      );
      server.listen(d.port, d.host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  private async loadDay(fromUs: number, toUs: number): Promise<void> {
    const s3 = this.deps.health?.dependency('s3');
    try {
      for await (const { rows } of readRows(this.deps.storage, barsTable, { fromUs, toUs })) {
        for (const b of rows) {
          this.seen.add(b.symbol);
          this.market.applyBar(b);
        }
      }
      for await (const { rows } of readRows(this.deps.storage, alertsTable, { fromUs, toUs })) {
        for (const a of rows) this.market.applyAlert(a);
      }
      this.market.takeChangedPrices();
      s3?.ok();
    } catch (err) {
      s3?.failed(err);
      this.log.warn("the day's history could not be read from the lake; showing live data only", {
        error: (err as Error).message,
      });
    }
  }

  private async refreshHealth(): Promise<void> {
    try {
      this.lag = { value: await readLag(this.admin, lagTargets(this.config)), error: null };
    } catch (err) {
      this.lag = { value: null, error: `Kafka: ${(err as Error).message}` };
    }
    const now = this.now();
    const bySource = this.ticks.perSecond(now);
    const dead = this.dead.perSecond(now);
    const perMin = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0) * 60;
    this.lastHealth = {
      ts: new Date(now).toISOString(),
      ticksPerSec: Object.values(bySource).reduce((a, b) => a + b, 0),
      bySource,
      dlqPerMin: perMin(dead),
      dlqByReason: Object.fromEntries(Object.entries(dead).map(([k, v]) => [k, v * 60])),
      latePerMin: perMin(this.lates.perSecond(now)),
      lag: this.lag.value,
      lagError: this.lag.error,
      runs: this.runs.value,
      runsError: this.runs.error,
      temporalUi: temporalUiBase(this.config),
      clients: this.hub.size,
    };
    this.send('health', this.lastHealth);
  }

  private async refreshRuns(): Promise<void> {
    if (!this.deps.temporal) {
      this.runs = { value: null, error: 'Temporal is not configured for this server' };
      return;
    }
    try {
      this.temporal ??= await this.deps.temporal();
      this.runs = { value: await readRuns(this.temporal, this.config), error: null };
    } catch (err) {
      this.runs = { value: this.runs.value, error: `Temporal: ${(err as Error).message}` };
    }
  }

  private authorized(req: IncomingMessage): boolean {
    const token = this.config.dashboard.token;
    return token === undefined || tokenMatches(presentedToken(req), token);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const path = url.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', ...SECURITY_HEADERS });
      res.end();
      return;
    }
    const token = this.config.dashboard.token;
    // A login link: trade the token in the address for a cookie, and drop it from the address at once.
    if (token !== undefined && url.searchParams.has('token')) {
      if (tokenMatches(url.searchParams.get('token') ?? '', token)) {
        url.searchParams.delete('token');
        const secure = req.headers['x-forwarded-proto'] === 'https';
        res.writeHead(303, {
          location: `${path}${url.search}`,
          'set-cookie': sessionCookie(token, secure),
          'cache-control': 'no-store',
          ...SECURITY_HEADERS,
        });
        res.end();
        return;
      }
      return this.unauthorized(res, path, 'wrong token');
    }
    const asset = this.assets.get(path);
    // The stylesheet and icon hold no data; the sign-in page needs them before there is a cookie.
    if (!PUBLIC.has(path) && !this.authorized(req)) return this.unauthorized(res, path, 'a token is required');
    if (asset) {
      res.writeHead(200, {
        'content-type': asset.type,
        'content-length': asset.body.length,
        'cache-control': path === '/' ? 'no-store' : 'private, max-age=300',
        ...SECURITY_HEADERS,
      });
      res.end(req.method === 'HEAD' ? undefined : asset.body);
      return;
    }
    const nowUs = this.now() * 1000;
    switch (path) {
      case '/api/overview':
        return this.overview(res);
      case '/api/symbols':
        return json(res, 200, { symbols: this.symbolList() });
      case '/api/bars': {
        const q = parseBarsQuery(url.searchParams, this.known, nowUs);
        if (!q.ok) return json(res, 400, { error: q.message });
        return json(res, 200, await this.bars(q.value.symbol, q.value.fromUs, q.value.toUs));
      }
      case '/api/alerts': {
        const q = parseAlertsQuery(url.searchParams, this.known, nowUs);
        if (!q.ok) return json(res, 400, { error: q.message });
        return json(res, 200, await this.alerts(q.value.symbol, q.value.fromUs, q.value.toUs, q.value.limit));
      }
      case '/api/health':
        return json(res, 200, this.lastHealth ?? null);
      case '/api/stream':
        this.hub.add(res, this.lastHealth ? SseHub.frame('health', this.lastHealth) : '');
        return;
      default:
        if (path.startsWith('/api/')) return json(res, 404, { error: `no such endpoint ${path}` });
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
        res.end('not found\n');
    }
  }

  private unauthorized(res: ServerResponse, path: string, why: string): void {
    if (path.startsWith('/api/')) return json(res, 401, { error: `${why}: Authorization: Bearer <token>` });
    const page = this.assets.get('/login.html')!.body;
    res.writeHead(401, {
      'content-type': 'text/html; charset=utf-8',
      'www-authenticate': 'Bearer realm="ticklake dashboard"',
      'cache-control': 'no-store',
      ...SECURITY_HEADERS,
    });
    res.end(page);
  }

  private symbolList(): string[] {
    return [...new Set([...this.deps.reference.symbols.keys(), ...this.seen])].sort();
  }

  private overview(res: ServerResponse): void {
    const rows = this.market.overview();
    const day = dayRange(this.now() * 1000);
    json(res, 200, {
      day: new Date(day.fromUs / 1000).toISOString().slice(0, 10),
      rows,
      movers: movers(rows),
      symbols: this.symbolList(),
    });
  }

  private async bars(symbol: string, fromUs: number, toUs: number) {
    const merged = new Map<number, Bar>();
    let lake: 'ok' | 'unavailable' = 'ok';
    try {
      for await (const { rows } of readRows(this.deps.storage, barsTable, { fromUs, toUs, symbols: [symbol] })) {
        for (const b of rows) merged.set(b.windowStart, b);
      }
    } catch (err) {
      lake = 'unavailable';
      this.log.warn('bars history read failed', { symbol, error: (err as Error).message });
    }
    for (const b of this.market.bars(symbol, fromUs, toUs)) {
      const held = merged.get(b.windowStart);
      if (!held || held.revision < b.revision) merged.set(b.windowStart, b);
    }
    const bars = [...merged.values()].sort((a, b) => a.windowStart - b.windowStart).map(barOut);
    return { symbol, from: iso(fromUs), to: iso(toUs), lake, bars };
  }

  private async alerts(symbol: string | null, fromUs: number, toUs: number, limit: number) {
    const merged = new Map<string, Alert>();
    let lake: 'ok' | 'unavailable' = 'ok';
    try {
      const filter = { fromUs, toUs, ...(symbol ? { symbols: [symbol] } : {}) };
      for await (const { rows } of readRows(this.deps.storage, alertsTable, filter)) {
        for (const a of rows) merged.set(a.id, a);
      }
    } catch (err) {
      lake = 'unavailable';
      this.log.warn('alerts history read failed', { error: (err as Error).message });
    }
    for (const a of this.market.recentAlerts()) {
      if (a.ts >= fromUs && a.ts < toUs && (!symbol || a.symbol === symbol)) merged.set(a.id, a);
    }
    const alerts = [...merged.values()].sort((a, b) => b.ts - a.ts).slice(0, limit);
    return { from: iso(fromUs), to: iso(toUs), lake, alerts };
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.hub.close();
    if (this.server) {
      const server = this.server;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await this.live.stop();
    await this.admin.disconnect();
  }
}

/** A bar as the page draws it: time in seconds (the chart's unit), prices and volume. */
function barOut(b: Bar) {
  return {
    symbol: b.symbol,
    time: Math.floor(b.windowStart / 1_000_000),
    open: b.open,
    high: b.high,
    low: b.low,
    close: b.close,
    volume: b.volume,
    trades: b.trades,
    revision: b.revision,
  };
}

const iso = (us: number) => new Date(us / 1000).toISOString();
const pathOf = (req: IncomingMessage) => (req.url ?? '/').split('?')[0];
