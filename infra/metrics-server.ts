import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { envNameFor, type Config } from '../core/config.ts';
import { TickLakeError } from '../core/errors.ts';
import type { Health } from './health.ts';

/** The process roles that serve /metrics, each on its own port by default. */
export type MetricsRole = 'worker' | 'process' | 'sink' | 'ingest' | 'alerts' | 'webhooks' | 'dashboard';
export const METRICS_ROLES: readonly MetricsRole[] = [
  'worker',
  'process',
  'sink',
  'ingest',
  'alerts',
  'webhooks',
  'dashboard',
];

/** The port a role listens on and the setting that chose it (named in the error when the port is taken). */
export function metricsPortFor(config: Config, role: MetricsRole): { port: number; setting: string } {
  if (config.metrics.port !== undefined) return { port: config.metrics.port, setting: 'metrics.port' };
  const key = `${role}Port` as const;
  return { port: config.metrics[key], setting: `metrics.${key}` };
}

/**
 * /metrics for Prometheus; /healthz and /readyz for orchestrators (docker-compose healthchecks, the demo, a
 * Kubernetes readiness probe): 200 only when every check of `health` passes, else 503, with a JSON body naming
 * each check, whether it passes and since when. /livez (a liveness probe) is 200 until the process is asked to
 * stop: a process whose Kafka is down is not ready, but restarting it would not bring Kafka back.
 */
export async function startMetricsServer(
  registry: Registry,
  port: number,
  health?: Health,
  host = '127.0.0.1',
  /** The setting that chose `port`, named when the port is taken. */
  setting?: string,
): Promise<Server> {
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(`${JSON.stringify(body)}\n`);
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(body);
        })
        .catch((err: Error) => {
          res.writeHead(500);
          res.end(err.message);
        });
    } else if (path === '/healthz' || path === '/readyz') {
      const report = health?.report() ?? { status: 'ok', checks: [] };
      json(res, report.status === 'ok' ? 200 : 503, report);
    } else if (path === '/livez') {
      const live = !health?.stopping;
      json(res, live ? 200 : 503, { status: live ? 'ok' : 'stopping' });
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE') return reject(err);
      const hint = setting ? `; set ${setting} (${envNameFor(setting)}) to a free port` : '';
      reject(
        new TickLakeError('PORT_IN_USE', `metrics port ${host}:${port} is already in use${hint}`, {
          cause: err,
          details: { port, host, setting },
        }),
      );
    });
    server.listen(port, host, () => resolve());
  });
  return server;
}

/** startMetricsServer on the role's port. */
export function startRoleMetricsServer(
  registry: Registry,
  config: Config,
  role: MetricsRole,
  health?: Health,
): Promise<Server> {
  const { port, setting } = metricsPortFor(config, role);
  return startMetricsServer(registry, port, health, config.metrics.host, setting);
}
