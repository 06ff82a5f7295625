import type { Command } from 'commander';
import { createLogger } from '../infra/logger.ts';
import { initProcessMetrics } from '../infra/metrics.ts';
import { kafkaClient, lakeStorage } from '../infra/clients.ts';
import { startRoleMetricsServer } from '../infra/metrics-server.ts';
import { EncoderPool } from '../streaming/sink/encoder-pool.ts';
import { LakeSink } from '../streaming/sink/sink.ts';
import { ensureTopics } from '../streaming/topics.ts';
import { configFrom, progressLine, shutdownSignal, tableName } from './shared.ts';

export function registerSinkCommand(program: Command): void {
  program
    .command('sink')
    .description('Land topics in the S3 lake as Parquet, exactly once through the manifest')
    .requiredOption('-t, --table <tables>', 'raw | enriched | bars | alerts, or several comma-separated')
    .action(async (o: { table: string }, cmd: Command) => {
      const stopRequested = shutdownSignal();
      const config = configFrom(cmd);
      const tables = o.table.split(',').map((t) => tableName(t.trim()));
      const log = createLogger({ component: 'sink' }, config.log.level);
      // First, before any connection: a taken port then stops the process with nothing to clean up.
      const registry = initProcessMetrics('sink');
      // Healthy from the moment every table consumes until it is asked to stop (a sink that gives up exits).
      let serving = false;
      const metrics = await startRoleMetricsServer(registry, config, 'sink', () => serving);
      const kafka = kafkaClient(config, `ticklake-sink`);
      await ensureTopics(kafka, config);
      const storage = lakeStorage(config);
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
      serving = true;
      for (const table of tables)
        progressLine(`[sink] ${table} -> s3://${config.s3.bucket}/${config.s3.lakePrefix}${table}/`);
      await stopRequested;
      serving = false;
      await Promise.all(sinks.map((s) => s.stop()));
      await encoders.close();
      metrics.close();
      progressLine(`[sink] ${tables.join(', ')} stopped`);
    });
}
