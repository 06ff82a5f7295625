import { Gauge, type Registry } from 'prom-client';
import type { Config } from '../core/config.ts';
import type { Storage } from '../lake/storage/storage.ts';

/**
 * What a process knows about its own fitness, as checks with a state and the time it entered that state:
 * - `started`: connected and consuming (or producing); false until the process says so.
 * - `stopping`: false once the process was asked to stop.
 * - one per dependency (Kafka, S3, Temporal): its calls report success or failure, and the check fails once the
 *   dependency has been failing for longer than `unreachableAfterMs` (a blip that the retries absorb is no
 *   reason to take a process out of service).
 * /healthz and /readyz (infra/metrics-server.ts) answer 200 only when every check passes; /livez only asks
 * whether the process is stopping.
 */

export interface CheckReport {
  name: string;
  ok: boolean;
  /** ISO time the check entered its current state (null: never reported). */
  since: string | null;
  detail?: string;
}

export interface HealthReport {
  status: 'ok' | 'unavailable';
  role: string;
  checks: CheckReport[];
}

/** How a component tells its process's health whether a dependency answered. */
export interface DependencySignal {
  ok(): void;
  failed(err: unknown): void;
}

class Dependency implements DependencySignal {
  /** Start of the current run of failures (undefined while the last call succeeded). */
  failingSince?: number;
  okSince?: number;
  lastError?: string;

  constructor(
    readonly name: string,
    private readonly now: () => number,
  ) {}

  ok(): void {
    if (this.failingSince !== undefined || this.okSince === undefined) this.okSince = this.now();
    this.failingSince = undefined;
  }

  failed(err: unknown): void {
    this.failingSince ??= this.now();
    this.okSince = undefined;
    this.lastError = err instanceof Error ? err.message : String(err);
  }
}

export interface HealthOptions {
  role: string;
  /** A dependency failing for longer than this fails its check (config `health.unreachableAfterMs`). */
  unreachableAfterMs: number;
  now?: () => number;
}

export class Health {
  private readonly dependencies = new Map<string, Dependency>();
  private readonly custom = new Map<string, () => string | undefined>();
  private startedAt?: number;
  private stoppingAt?: number;
  private readonly created: number;
  private readonly now: () => number;

  constructor(private readonly opts: HealthOptions) {
    this.now = opts.now ?? Date.now;
    this.created = this.now();
  }

  /** The signal for one dependency (one per name: components of a process share it). */
  dependency(name: string): DependencySignal {
    let d = this.dependencies.get(name);
    if (!d) this.dependencies.set(name, (d = new Dependency(name, this.now)));
    return d;
  }

  /** A check of the process's own: `failing` returns why it fails now, or undefined when it passes. */
  addCheck(name: string, failing: () => string | undefined): void {
    this.custom.set(name, failing);
  }

  /** Connected and consuming or producing. */
  markStarted(): void {
    this.startedAt ??= this.now();
  }

  markStopping(): void {
    this.stoppingAt ??= this.now();
  }

  get stopping(): boolean {
    return this.stoppingAt !== undefined;
  }

  report(): HealthReport {
    const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());
    const now = this.now();
    const bound = this.opts.unreachableAfterMs;
    const checks: CheckReport[] = [
      this.startedAt === undefined
        ? { name: 'started', ok: false, since: iso(this.created), detail: 'connecting; not consuming yet' }
        : { name: 'started', ok: true, since: iso(this.startedAt) },
      this.stoppingAt === undefined
        ? { name: 'stopping', ok: true, since: iso(this.created) }
        : { name: 'stopping', ok: false, since: iso(this.stoppingAt), detail: 'asked to stop' },
    ];
    for (const [name, failing] of this.custom) {
      const detail = failing();
      checks.push(detail === undefined ? { name, ok: true, since: null } : { name, ok: false, since: null, detail });
    }
    for (const d of this.dependencies.values()) {
      if (d.failingSince === undefined) {
        checks.push({ name: d.name, ok: true, since: iso(d.okSince) });
        continue;
      }
      const downMs = now - d.failingSince;
      const ok = downMs <= bound;
      checks.push({
        name: d.name,
        ok,
        since: iso(d.failingSince),
        detail:
          `${ok ? 'failing' : 'unreachable'} for ${(downMs / 1000).toFixed(1)}s ` +
          `(bound ${(bound / 1000).toFixed(1)}s, health.unreachableAfterMs): ${d.lastError ?? 'unknown error'}`,
      });
    }
    return { status: checks.every((c) => c.ok) ? 'ok' : 'unavailable', role: this.opts.role, checks };
  }

  /**
   * `ticklake_ready` (1 when every check passes) and `ticklake_health_check_ok{check}`, computed at scrape time so
   * Prometheus sees what /readyz would answer.
   */
  register(registry: Registry): void {
    const report = () => this.report();
    new Gauge({
      name: 'ticklake_ready',
      help: 'Whether the process passes every health check (what /readyz answers)',
      registers: [registry],
      collect() {
        this.set(report().status === 'ok' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'ticklake_health_check_ok',
      help: 'Each health check of the process: 1 passing, 0 failing',
      labelNames: ['check'],
      registers: [registry],
      collect() {
        this.reset();
        for (const c of report().checks) this.set({ check: c.name }, c.ok ? 1 : 0);
      },
    });
  }
}

/** An error that carries an HTTP answer below 500 means the server is up; anything else (refused, 5xx, timeout) is not. */
export function serverAnswered(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 8; depth++) {
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (typeof status === 'number' && status < 500) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The lake's storage with every call reporting to `dep`: how a process learns its S3 is down without asking it. */
export function watchedStorage<S extends Storage>(storage: S, dep: DependencySignal): S {
  const watch =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        const result = await fn.apply(storage, args);
        dep.ok();
        return result;
      } catch (err) {
        if (serverAnswered(err)) dep.ok();
        else dep.failed(err);
        throw err;
      }
    };
  const methods = ['get', 'getRange', 'put', 'putIfAbsent', 'head', 'list', 'delete'] as const;
  const wrapped = Object.create(storage) as S;
  for (const m of methods) {
    Object.defineProperty(wrapped, m, { value: watch(storage[m] as (...a: unknown[]) => Promise<unknown>) });
  }
  return wrapped;
}

/** The process's Health with the configured bound, its gauges in `registry`. */
export function processHealth(config: Config, role: string, registry?: Registry): Health {
  const health = new Health({ role, unreachableAfterMs: config.health.unreachableAfterMs });
  if (registry) health.register(registry);
  return health;
}

/** Calls `check` every `intervalMs` and tells `dep` how it went: for dependencies nothing else calls regularly. */
export function startProbe(dep: DependencySignal, intervalMs: number, check: () => Promise<unknown>): () => void {
  let running = false;
  const tick = () => {
    if (running) return;
    running = true;
    check()
      .then(
        () => dep.ok(),
        (err: unknown) => dep.failed(err),
      )
      .finally(() => (running = false));
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  tick();
  return () => clearInterval(timer);
}
