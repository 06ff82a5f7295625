import type { Command } from 'commander';
import type { Config } from '../core/config.ts';
import { TickLakeError } from '../core/errors.ts';
import { bindRefusal } from '../dashboard/auth.ts';
import { DashboardServer } from '../dashboard/server.ts';
import { kafkaClient, lakeStorage, temporalClient } from '../infra/clients.ts';
import { processHealth, watchedStorage } from '../infra/health.ts';
import { createLogger } from '../infra/logger.ts';
import { initProcessMetrics } from '../infra/metrics.ts';
import { startRoleMetricsServer } from '../infra/metrics-server.ts';
import { loadShippedReference } from '../infra/reference-file.ts';
import { ReferenceCache } from '../streaming/reference-cache.ts';
import { ensureTopics, topicName } from '../streaming/topics.ts';
import { configFrom, progressLine, shutdownSignal } from './shared.ts';

/** The address people open; the token is never part of it (it is a secret, and addresses end up in logs). */
export function dashboardUrl(config: Config, port = config.dashboard.port): string {
  const h = config.dashboard.host;
  const host = h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h.includes(':') ? `[${h}]` : h;
  return `http://${host}:${port}/`;
}

export function registerDashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description('Serve the live web dashboard: market overview, candlestick charts, alerts and pipeline health')
    .option('--port <port>', 'listen on this port (default: dashboard.port)')
    .option(
      '--host <host>',
      'listen on this address (default: dashboard.host, 127.0.0.1); beyond loopback needs a token',
    )
    .addHelpText(
      'after',
      `\nBeyond loopback the token is required: set it in the environment, never in a file.\n` +
        `Browsers sign in once at /?token=<token> (a cookie keeps the session); API clients send\n` +
        `Authorization: Bearer <token> (docs/OPERATIONS.md, Dashboard).\n` +
        `\nExamples:\n` +
        `  ticklake dashboard                          # http://127.0.0.1:3000/\n` +
        `  export TICKLAKE_DASHBOARD_TOKEN=$(openssl rand -hex 24)\n` +
        `  ticklake dashboard --host 0.0.0.0 --port 8080\n` +
        `  curl -H "Authorization: Bearer $TICKLAKE_DASHBOARD_TOKEN" 'http://127.0.0.1:8080/api/bars?symbol=AAPL'`,
    )
    .action(async (o: { port?: string; host?: string }, cmd: Command) => {
      const stopRequested = shutdownSignal();
      const base = configFrom(cmd);
      const port = o.port === undefined ? base.dashboard.port : Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new TickLakeError('CONFIG_INVALID', `--port ${o.port} is not a port number (0-65535)`);
      }
      const config: Config = { ...base, dashboard: { ...base.dashboard, port, host: o.host ?? base.dashboard.host } };
      const log = createLogger({ component: 'dashboard' }, config.log.level);
      const registry = initProcessMetrics('dashboard');
      const health = processHealth(config, 'dashboard', registry);
      const kafka = kafkaClient(config, 'ticklake-dashboard');
      const storage = watchedStorage(lakeStorage(config), health.dependency('s3'));
      // A non-loopback host without a token is refused before anything connects.
      const refusal = bindRefusal(config.dashboard.host, config.dashboard.token);
      if (refusal) throw new TickLakeError('CONFIG_INVALID', refusal);
      let temporal: Awaited<ReturnType<typeof temporalClient>> | undefined;
      const metrics = await startRoleMetricsServer(registry, config, 'dashboard', health);
      await ensureTopics(kafka, config);
      const reference = new ReferenceCache(kafka, topicName(config, 'referenceSymbols'), loadShippedReference(), log);
      await reference.start();
      const dashboard = new DashboardServer({
        config,
        kafka,
        storage,
        reference,
        temporal: async () => (temporal ??= await temporalClient(config)).client,
        log,
        registry,
        health,
      });
      const bound = await dashboard.start();
      health.markStarted();
      progressLine(
        `[dashboard] ${dashboardUrl(config, bound)}` +
          (config.dashboard.token ? ' (token required: sign in with /?token=… or Authorization: Bearer)' : ''),
      );
      await stopRequested;
      health.markStopping();
      await dashboard.stop();
      await reference.stop();
      await temporal?.close();
      metrics.close();
      progressLine('[dashboard] stopped');
    });
}
