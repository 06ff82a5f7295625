import { createServer, type Server } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../infra/config.ts';
import { isTickLakeError } from '../../../core/errors.ts';
import { METRICS_ROLES, metricsPortFor, startRoleMetricsServer } from '../../../infra/metrics-server.ts';

const open: Array<{ close(): unknown }> = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

describe('metrics ports', () => {
  it('gives every role its own port by default', () => {
    const config = loadConfig({ env: {} });
    const ports = METRICS_ROLES.map((r) => metricsPortFor(config, r).port);
    expect(new Set(ports).size).toBe(METRICS_ROLES.length);
    expect(metricsPortFor(config, 'sink')).toEqual({ port: 9466, setting: 'metrics.sinkPort' });
  });

  it('uses metrics.port for every role when it is set (one role per container)', () => {
    const config = loadConfig({ env: { TICKLAKE_METRICS_PORT: '9999' } });
    for (const r of METRICS_ROLES) expect(metricsPortFor(config, r)).toEqual({ port: 9999, setting: 'metrics.port' });
  });

  it('reports a taken port in one line naming the setting to change', async () => {
    const taken = await listen(0);
    open.push(taken);
    const port = (taken.address() as { port: number }).port;
    const config = loadConfig({ env: {}, overrides: { metrics: { processPort: port } } });
    const err: unknown = await startRoleMetricsServer(new Registry(), config, 'process').then(
      (s) => (open.push(s), undefined),
      (e: unknown) => e,
    );
    expect(isTickLakeError(err, 'PORT_IN_USE')).toBe(true);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toContain(`127.0.0.1:${port}`);
    expect(message).toContain('metrics.processPort (TICKLAKE_METRICS_PROCESS_PORT)');
  });

  it('lets process and sink start side by side with the defaults shifted to free ports', async () => {
    const a = await listen(0);
    const b = await listen(0);
    const pa = (a.address() as { port: number }).port;
    const pb = (b.address() as { port: number }).port;
    a.close();
    b.close();
    const config = loadConfig({ env: {}, overrides: { metrics: { processPort: pa, sinkPort: pb } } });
    open.push(await startRoleMetricsServer(new Registry(), config, 'process'));
    open.push(await startRoleMetricsServer(new Registry(), config, 'sink'));
    const res = await fetch(`http://127.0.0.1:${pb}/healthz`);
    expect(res.status).toBe(200);
  });
});
