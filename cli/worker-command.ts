import type { Command } from 'commander';
import { initProcessMetrics } from '../infra/metrics.ts';
import { startRoleMetricsServer } from '../infra/metrics-server.ts';
import { createWorker } from '../infra/temporal/worker.ts';
import { configFrom, progressLine, shutdownSignal } from './shared.ts';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('Run the Temporal worker (task queue from temporal.taskQueue) until SIGINT/SIGTERM')
    .action(async (_o, cmd: Command) => {
      const stopRequested = shutdownSignal();
      const config = configFrom(cmd);
      const { worker, close } = await createWorker(config);
      const metrics = await startRoleMetricsServer(
        initProcessMetrics('worker'),
        config,
        'worker',
        () => worker.getState() === 'RUNNING',
      );
      void stopRequested.then(() => worker.shutdown());
      progressLine(`[worker] polling task queue ${config.temporal.taskQueue} on ${config.temporal.address}`);
      await worker.run();
      await close();
      metrics.close();
      progressLine('[worker] stopped');
    });
}
