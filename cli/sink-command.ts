import type { Command } from 'commander';
import { createLogger } from '../infra/logger.ts';
import { initProcessMetrics } from '../infra/metrics.ts';
import { kafkaClient, lakeStorage } from '../infra/clients.ts';
import { processHealth, watchedStorage } from '../infra/health.ts';
import { startRoleMetricsServer } from '../infra/metrics-server.ts';
import { EncoderPool } from '../streaming/sink/encoder-pool.ts';
import { LakeSink, sinkGroupId } from '../streaming/sink/sink.ts';
import { SINK_TABLES } from '../streaming/sink/tables.ts';
import { startLagMonitor } from '../streaming/kafka/consumer-lag.ts';
import { ensureTopics, topicName } from '../streaming/topics.ts';
import { configFrom, progressLine, shutdownSignal, sinkTableName } from './shared.ts';

export function registerSinkCommand(program: Command): void {
  program
    .command('sink')
    .description('Land topics in the S3 lake as Parquet, exactly once through the manifest')
    .requiredOption('-t, --table <tables>', 'raw | enriched | bars | alerts, or several comma-separated')
    .action(async (o: { table: string }, cmd: Command) => {
      const stopRequested = shutdownSignal();
      const config = configFrom(cmd);
      const tables = o.table.split(',').map((t) => sinkTableName(t.trim()));
      const log = createLogger({ component: 'sink' }, config.log.level);
      // First, before any connection: a taken port then stops the process with nothing to clean up.
      const registry = initProcessMetrics('sink');
      // Ready from the moment every table consumes until it is asked to stop (a sink that gives up exits), and
      // while neither Kafka nor S3 has been failing past health.unreachableAfterMs.
      const health = processHealth(config, 'sink', registry);
      const metrics = await startRoleMetricsServer(registry, config, 'sink', health);
      const kafka = kafkaClient(config, `ticklake-sink`);
      await ensureTopics(kafka, config);
      const storage = watchedStorage(lakeStorage(config), health.dependency('s3'));
      // One set of encoder threads for all the tables this process lands.
      const encoders = new EncoderPool(config.sink.encoderThreads);
      const sinks = tables.map(
        (table) =>
          new LakeSink({
            config,
            kafka,
            storage,
            table,
            log: log.child({ table }),
            registry,
            encoders,
            onFatal: (err) => {
              log.error('consumer stopped for good; exiting so a supervisor restarts us', {
                table,
                error: err.message,
              });
              process.exit(1);
            },
          }),
      );
      await Promise.all(sinks.map((s) => s.start()));
      const lag = startLagMonitor({
        kafka,
        consumers: tables.map((t) => ({
          groupId: sinkGroupId(config, t),
          topic: topicName(config, SINK_TABLES[t].topic),
        })),
        registry,
        intervalMs: config.metrics.lagIntervalMs,
        kafkaHealth: health.dependency('kafka'),
        log,
      });
      health.markStarted();
      for (const table of tables)
        progressLine(`[sink] ${table} -> s3://${config.s3.bucket}/${config.s3.lakePrefix}${table}/`);
      await stopRequested;
      health.markStopping();
      await lag.stop();
      await Promise.all(sinks.map((s) => s.stop()));
      await encoders.close();
      metrics.close();
      progressLine(`[sink] ${tables.join(', ')} stopped`);
    });
}
