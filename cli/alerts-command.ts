import { hostname } from 'node:os';
import type { Command } from 'commander';
import { kafkaClient } from '../infra/clients.ts';
import { processHealth } from '../infra/health.ts';
import { loadRulesFile, rulesFilePath } from '../infra/alerts/rules-file.ts';
import { watchRulesFile } from '../infra/alerts/rules-watcher.ts';
import { createLogger } from '../infra/logger.ts';
import { initProcessMetrics } from '../infra/metrics.ts';
import { startRoleMetricsServer } from '../infra/metrics-server.ts';
import { loadShippedReference } from '../infra/reference-file.ts';
import { AlertProcessor } from '../streaming/alerts/alert-processor.ts';
import { startLiveModelScorer } from '../streaming/models/live-scorer.ts';
import { startLagMonitor } from '../streaming/kafka/consumer-lag.ts';
import { ReferenceCache } from '../streaming/reference-cache.ts';
import { dispatcherSettings, WebhookDispatcher } from '../streaming/webhooks/dispatcher.ts';
import { createWebhookMetrics } from '../streaming/webhooks/metrics.ts';
import { KafkaDeliveryStore } from '../streaming/webhooks/state-store.ts';
import { ensureTopics, topicName } from '../streaming/topics.ts';
import { configFrom, progressLine, shutdownSignal } from './shared.ts';

export function registerAlertsCommand(program: Command): void {
  program
    .command('alerts')
    .description('The speed layer: evaluate the alert rules on ticks.raw and write each alert to `alerts` once')
    .option('--instance <id>', 'this instance’s id, stable across its restarts (default: alerts-<hostname>)')
    .option('--rules <file>', 'alert rules file (default: alerts.rulesFile, else the shipped one); reloaded on change')
    .addHelpText(
      'after',
      `
Examples:
  ticklake alerts                          # the shipped rules (infra/alerts/rules.yaml)
  ticklake alerts --rules ./my-rules.yaml  # edit the file while it runs: valid changes apply, bad ones are refused
  ticklake webhooks                        # delivery apart from evaluation: set alerts.deliverWebhooks=false here`,
    )
    .action(async (o: { instance?: string; rules?: string }, cmd: Command) => {
      const stopRequested = shutdownSignal();
      const config = configFrom(cmd);
      const instanceId = o.instance ?? `alerts-${hostname()}`;
      const log = createLogger({ component: 'alerts', instance: instanceId }, config.log.level);
      // The rules first: a bad file stops the process before anything connects, with its line and key.
      const file = o.rules ?? rulesFilePath(config);
      const { rules } = loadRulesFile(file);
      const registry = initProcessMetrics('alerts');
      // Ready once it consumes, until asked to stop, while Kafka has not failed past health.unreachableAfterMs.
      const health = processHealth(config, 'alerts', registry);
      const metrics = await startRoleMetricsServer(registry, config, 'alerts', health);
      const kafka = kafkaClient(config, `ticklake-${instanceId}`);
      // Built before anything connects: a refused endpoint (allowlist, http beyond loopback, secret) stops us here.
      const delivers = config.alerts.deliverWebhooks && config.webhooks.endpoints.length > 0;
      const store = delivers ? new KafkaDeliveryStore(kafka, config, log) : undefined;
      const dispatcher = store
        ? new WebhookDispatcher({
            settings: dispatcherSettings(config),
            store,
            metrics: createWebhookMetrics(registry),
            log,
          })
        : undefined;
      await ensureTopics(kafka, config);
      const resumed = (await dispatcher?.start())?.resumed ?? 0;
      const partitions = await partitionCount(kafka, topicName(config, 'raw'));
      const reference = new ReferenceCache(kafka, topicName(config, 'referenceSymbols'), loadShippedReference(), log);
      // Models before the first bar: the models topic read to its end (beside the symbol master), then tailed, so
      // new versions apply live.
      const [, models] = await Promise.all([reference.start(), startLiveModelScorer({ kafka, config, log, registry })]);
      const processor = new AlertProcessor({
        config,
        kafka,
        reference,
        rules,
        log,
        registry,
        instanceId,
        partitions,
        scorers: models.scorers,
        deliver: dispatcher && ((alerts) => dispatcher.submit(alerts)),
        onFatal: (err) => {
          log.error('consumer stopped for good; exiting so a supervisor restarts us', { error: err.message });
          process.exit(1);
        },
      });
      const watcher = watchRulesFile({ file, apply: (next) => processor.setRules(next), log });
      await processor.start();
      const lag = startLagMonitor({
        kafka,
        consumers: [{ groupId: config.alerts.groupId, topic: topicName(config, 'raw') }],
        registry,
        intervalMs: config.metrics.lagIntervalMs,
        kafkaHealth: health.dependency('kafka'),
        log,
      });
      health.markStarted();
      progressLine(
        `[alerts] ${instanceId} evaluating ${rules.length} rules from ${file} on ${topicName(config, 'raw')} → ${topicName(config, 'alerts')}` +
          `; ${models.cache.size} symbols with a model` +
          (dispatcher
            ? `; delivering to ${dispatcher.endpointNames().join(', ')} (${resumed} unfinished deliveries resumed)`
            : '; no webhook delivery here (alerts.deliverWebhooks off or no webhooks.endpoints)'),
      );
      await stopRequested;
      health.markStopping();
      await lag.stop();
      watcher.close();
      await processor.stop();
      await dispatcher?.stop();
      await store?.close();
      await reference.stop();
      await models.stop();
      metrics.close();
      progressLine('[alerts] stopped');
    });
}

async function partitionCount(kafka: ReturnType<typeof kafkaClient>, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    return meta.topics[0]!.partitions.length;
  } finally {
    await admin.disconnect();
  }
}
