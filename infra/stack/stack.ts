import { existsSync, mkdirSync } from 'node:fs';
import type { Config } from '../../core/config.ts';
import { TickLakeError } from '../../core/errors.ts';
import { portFree, waitFor } from './health.ts';
import { isOurs, logFileFor, pidFileFor, readPidRecord, startProcess, stopProcess, tailFile } from './process.ts';
import type { StackContext, StackService } from './service.ts';
import { STACK_SERVICES } from './services/index.ts';

export type ServiceState = 'healthy' | 'starting' | 'unhealthy' | 'stopped' | 'skipped';

export interface ServiceStatus {
  name: string;
  state: ServiceState;
  pid?: number;
  ports: number[];
  urls: Record<string, string>;
  note?: string;
}

export interface StackOptions {
  config: Config;
  progress?: (line: string) => void;
  services?: readonly StackService[];
}

function ctxOf(opts: StackOptions): StackContext {
  return { config: opts.config, progress: opts.progress ?? (() => {}) };
}

async function running(config: Config, svc: StackService) {
  const rec = readPidRecord(pidFileFor(config.stack.stateDir, svc.name));
  return rec && (await isOurs(rec)) ? rec : undefined;
}

/** Installs every binary and jar into the cache. Safe to run again; a no-op when warm. */
export async function provisionStack(opts: StackOptions): Promise<Map<string, string>> {
  const ctx = ctxOf(opts);
  const skipped = new Map<string, string>();
  // Maven is network-bound and `go install` CPU-bound: overlap them.
  await Promise.all(
    (opts.services ?? STACK_SERVICES).map(async (svc) => {
      const started = Date.now();
      const reason = await svc.provision({ ...ctx, progress: (l) => ctx.progress(`[${svc.name}] ${l}`) });
      if (reason) skipped.set(svc.name, reason);
      const secs = (Date.now() - started) / 1000;
      if (secs > 1) ctx.progress(`[${svc.name}] provisioned in ${secs.toFixed(0)}s`);
    }),
  );
  return skipped;
}

/**
 * Brings every service up and waits for real readiness. Idempotent: services already running from this
 * state dir are left alone. A port held by anything else is an error naming the port and the setting.
 */
export async function stackUp(opts: StackOptions): Promise<ServiceStatus[]> {
  const { config } = opts;
  const ctx = ctxOf(opts);
  const services = opts.services ?? STACK_SERVICES;
  mkdirSync(config.stack.stateDir, { recursive: true });

  const toStart: StackService[] = [];
  for (const svc of services) {
    if (await running(config, svc)) continue;
    for (const port of svc.ports(config)) {
      if (!(await portFree(port))) {
        throw new TickLakeError(
          'PORT_IN_USE',
          `port ${port} (${svc.name}) is taken by a process this stack did not start. ` +
            `Stop it, or pick other ports with the TICKLAKE_STACK_*_PORT settings (see docs/OPERATIONS.md).`,
          { details: { port, service: svc.name } },
        );
      }
    }
    toStart.push(svc);
  }

  const skipped = await provisionStack({ ...opts, services: toStart });
  await Promise.all(
    toStart
      .filter((svc) => !skipped.has(svc.name))
      .map(async (svc) => {
        const spec = await svc.prepare({ ...ctx, progress: (l) => ctx.progress(`[${svc.name}] ${l}`) });
        const pidFile = pidFileFor(config.stack.stateDir, svc.name);
        const logFile = logFileFor(config.stack.stateDir, svc.name);
        const rec = await startProcess({ name: svc.name, ...spec, pidFile, logFile });
        ctx.progress(`[${svc.name}] started (pid ${rec.pid}), waiting for it to answer`);
        const started = Date.now();
        try {
          await waitFor(svc.name, () => svc.healthy(config), {
            timeoutMs: config.stack.startTimeoutMs,
            alive: () => isOurs(rec),
          });
          await svc.bootstrap?.(config);
        } catch (err) {
          throw new TickLakeError(
            'SERVICE_UNHEALTHY',
            `${svc.name} did not become healthy: ${(err as Error).message}\n--- last lines of ${logFile} ---\n${tailFile(logFile, 20)}`,
            { cause: err },
          );
        }
        ctx.progress(`[${svc.name}] healthy in ${((Date.now() - started) / 1000).toFixed(1)}s`);
      }),
  );
  const statuses = await stackStatus(opts);
  for (const s of statuses) if (skipped.has(s.name)) Object.assign(s, { state: 'skipped', note: skipped.get(s.name) });
  return statuses;
}

/** Stops, in reverse start order, only processes recorded in this state dir's pid files. */
export async function stackDown(opts: StackOptions): Promise<string[]> {
  const stopped: string[] = [];
  const services = [...(opts.services ?? STACK_SERVICES)].reverse();
  await Promise.all(
    services.map(async (svc) => {
      if (await stopProcess(pidFileFor(opts.config.stack.stateDir, svc.name))) stopped.push(svc.name);
    }),
  );
  return stopped;
}

export async function stackStatus(opts: StackOptions): Promise<ServiceStatus[]> {
  const { config } = opts;
  return Promise.all(
    (opts.services ?? STACK_SERVICES).map(async (svc): Promise<ServiceStatus> => {
      const rec = await running(config, svc);
      const base = { name: svc.name, ports: svc.ports(config), urls: svc.urls(config) };
      if (!rec) return { ...base, state: 'stopped' };
      const ok = await svc.healthy(config);
      return { ...base, pid: rec.pid, state: ok ? 'healthy' : 'unhealthy' };
    }),
  );
}

export function stackLogs(opts: StackOptions & { service?: string; lines: number }): string {
  const names = (opts.services ?? STACK_SERVICES).map((s) => s.name).filter((n) => !opts.service || n === opts.service);
  if (opts.service && names.length === 0) {
    throw new TickLakeError('INPUT_INVALID', `unknown service ${opts.service}`);
  }
  return names
    .map((n) => {
      const file = logFileFor(opts.config.stack.stateDir, n);
      return `==> ${n} (${file}) <==\n${existsSync(file) ? tailFile(file, opts.lines) : '(no log yet)'}`;
    })
    .join('\n\n');
}
