import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/**
 * /metrics for Prometheus and /healthz for orchestrators (docker-compose healthchecks, the demo). `healthy`
 * lets the process say when it is not fit to serve (e.g. lost its Kafka connection).
 */
export async function startMetricsServer(
  registry: Registry,
  port: number,
  healthy: () => boolean = () => true,
  host = '127.0.0.1',
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
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
