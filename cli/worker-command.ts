import type { Command } from 'commander';
import { lakeStorage, warehouseDeps } from '../infra/clients.ts';
import { processHealth, startProbe } from '../infra/health.ts';
import { createLogger } from '../infra/logger.ts';
import { initProcessMetrics } from '../infra/metrics.ts';
import { startRoleMetricsServer } from '../infra/metrics-server.ts';
import { createWorker } from '../infra/temporal/worker.ts';
import { startFreshnessMonitor } from '../infra/warehouse-freshness.ts';
import { startReconciliationMonitor } from '../infra/reconciliation-metrics.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { configFrom, progressLine, shutdownSignal } from './shared.ts';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('Run the Temporal worker (task queue from temporal.taskQueue) until SIGINT/SIGTERM')
    .addHelpText(
      'after',
      '\nExamples:\n  ticklake worker\n  TICKLAKE_TEMPORAL_TASK_QUEUE=ticklake-2 ticklake worker   # a separate queue',
    )
    .action(async (_o, cmd: Command) => {
      const stopRequested = shutdownSignal();
      const config = configFrom(cmd);
      const log = createLogger({ component: 'worker' }, config.log.level);
      const registry = initProcessMetrics('worker');
      const health = processHealth(config, 'worker', registry);
      const { worker, connection, close } = await createWorker(config, registry);
      health.addCheck('worker', () => {
        const state = worker.getState();
        return state === 'RUNNING' ? undefined : `worker is ${state}`;
      });
      const metrics = await startRoleMetricsServer(registry, config, 'worker', health);
      // The SDK retries its polls silently while the server is away: ask the server itself, regularly.
      const stopProbe = startProbe(health.dependency('temporal'), config.health.probeIntervalMs, () =>
        connection.workflowService.getSystemInfo({}),
      );
      const storage = lakeStorage(config);
      const freshness = startFreshnessMonitor({
        warehouse: new Warehouse(warehouseDeps(config, storage)),
        storage,
        registry,
        intervalMs: config.metrics.freshnessIntervalMs,
        log,
      });
      const reconciliation = startReconciliationMonitor({
        storage,
        registry,
        intervalMs: config.reconciliation.metricsIntervalMs,
        lookbackHours: config.reconciliation.metricsLookbackHours,
        tolerance: config.reconciliation.tolerance,
        log,
      });
      void stopRequested.then(() => {
        health.markStopping();
        worker.shutdown();
      });
      progressLine(`[worker] polling task queue ${config.temporal.taskQueue} on ${config.temporal.address}`);
      const running = worker.run();
      health.markStarted();
      await running;
      stopProbe();
      freshness.stop();
      reconciliation.stop();
      storage.client.destroy();
      await close();
      metrics.close();
      progressLine('[worker] stopped');
    });
}
