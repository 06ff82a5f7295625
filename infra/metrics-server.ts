import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { envNameFor, type Config } from '../core/config.ts';
import { TickLakeError } from '../core/errors.ts';

/** The process roles that serve /metrics, each on its own port by default. */
export type MetricsRole = 'worker' | 'process' | 'sink' | 'ingest' | 'alerts' | 'webhooks';
export const METRICS_ROLES: readonly MetricsRole[] = ['worker', 'process', 'sink', 'ingest', 'alerts', 'webhooks'];

/** The port a role listens on and the setting that chose it (named in the error when the port is taken). */
export function metricsPortFor(config: Config, role: MetricsRole): { port: number; setting: string } {
  if (config.metrics.port !== undefined) return { port: config.metrics.port, setting: 'metrics.port' };
  const key = `${role}Port` as const;
  return { port: config.metrics[key], setting: `metrics.${key}` };
}

/**
 * /metrics for Prometheus and /healthz for orchestrators (docker-compose healthchecks, the demo). `healthy`
 * lets the process say when it is not fit to serve (e.g. lost its Kafka connection).
 */
export async function startMetricsServer(
  registry: Registry,
  port: number,
  healthy: () => boolean = () => true,
  host = '127.0.0.1',
  /** The setting that chose `port`, named when the port is taken. */
  setting?: string,
): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
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
    } else if (req.url === '/healthz') {
      const ok = healthy();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'unhealthy\n');
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
  healthy: () => boolean = () => true,
): Promise<Server> {
  const { port, setting } = metricsPortFor(config, role);
  return startMetricsServer(registry, port, healthy, config.metrics.host, setting);
}
