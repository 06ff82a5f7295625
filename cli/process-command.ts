import { hostname } from 'node:os';
import type { Command } from 'commander';
import { createLogger } from '../infra/logger.ts';
import { initProcessMetrics } from '../infra/metrics.ts';
import { loadShippedReference } from '../infra/reference-file.ts';
import { kafkaClient } from '../infra/clients.ts';
import { processHealth } from '../infra/health.ts';
import { startRoleMetricsServer } from '../infra/metrics-server.ts';
import { startLagMonitor } from '../streaming/kafka/consumer-lag.ts';
import { StreamProcessor } from '../streaming/processor/processor.ts';
import { ReferenceCache } from '../streaming/reference-cache.ts';
import { ensureTopics, topicName } from '../streaming/topics.ts';
import { configFrom, progressLine, shutdownSignal } from './shared.ts';

export function registerProcessCommand(program: Command): void {
  program
    .command('process')
    .description('Validate, dedupe, enrich and bar ticks.raw with exactly-once Kafka transactions')
    .option('--instance <id>', 'this instance’s id, stable across its restarts (default: processor-<hostname>)')
    .addHelpText(
      'after',
      '\nRuns until SIGINT/SIGTERM; health on metrics.processPort (/healthz).\n\nExamples:\n  ticklake process\n  ticklake process --instance processor-2   # a second instance: partitions are shared out\n  ticklake --profile test process',
    )
    .action(async (o: { instance?: string }, cmd: Command) => {
      const stopRequested = shutdownSignal();
      const config = configFrom(cmd);
      const instanceId = o.instance ?? `processor-${hostname()}`;
      const log = createLogger({ component: 'processor', instance: instanceId }, config.log.level);
      // First, before any connection: a taken port then stops the process with nothing to clean up.
      const registry = initProcessMetrics('processor');
      // Ready from the moment it consumes until it is asked to stop (a consumer that gives up exits the process),
      // while Kafka has not been failing past health.unreachableAfterMs.
      const health = processHealth(config, 'process', registry);
      const metrics = await startRoleMetricsServer(registry, config, 'process', health);
      const kafka = kafkaClient(config, `ticklake-${instanceId}`);
      await ensureTopics(kafka, config);
      const reference = new ReferenceCache(kafka, topicName(config, 'referenceSymbols'), loadShippedReference(), log);
      await reference.start();
      const processor = new StreamProcessor({
        config,
        kafka,
        reference,
        log,
        registry,
        instanceId,
        onFatal: (err) => {
          log.error('consumer stopped for good; exiting so a supervisor restarts us', { error: err.message });
          process.exit(1);
        },
      });
      await processor.start();
      const lag = startLagMonitor({
        kafka,
        consumers: [{ groupId: config.processor.groupId, topic: topicName(config, 'raw') }],
        registry,
        intervalMs: config.metrics.lagIntervalMs,
        kafkaHealth: health.dependency('kafka'),
        log,
      });
      health.markStarted();
      progressLine(
        `[process] ${instanceId} consuming ${topicName(config, 'raw')} as group ${config.processor.groupId}`,
      );
      await stopRequested;
      health.markStopping();
      await lag.stop();
      await processor.stop();
      await reference.stop();
      metrics.close();
      progressLine('[process] stopped');
    });
}
