import type { Command } from 'commander';
import { TickLakeError } from '../core/errors.ts';
import { isSecretFormat } from '../core/webhooks/endpoint.ts';
import { kafkaClient } from '../infra/clients.ts';
import { createLogger } from '../infra/logger.ts';
import { initProcessMetrics } from '../infra/metrics.ts';
import { processHealth } from '../infra/health.ts';
import { startRoleMetricsServer } from '../infra/metrics-server.ts';
import { ensureTopics, topicName } from '../streaming/topics.ts';
import { WebhookDispatcher, dispatcherSettings } from '../streaming/webhooks/dispatcher.ts';
import { createWebhookMetrics } from '../streaming/webhooks/metrics.ts';
import { WebhookReceiver } from '../streaming/webhooks/receiver.ts';
import { AlertConsumer } from '../streaming/webhooks/service.ts';
import { newSecret, secretKey } from '../streaming/webhooks/sign.ts';
import { KafkaDeliveryStore } from '../streaming/webhooks/state-store.ts';
import { configFrom, progressLine, shutdownSignal } from './shared.ts';

const ENDPOINTS_EXAMPLE = `[{"name":"desk","url":"http://127.0.0.1:8787/hooks","secretEnv":"TICKLAKE_WEBHOOK_SECRET"}]`;

export function registerWebhooksCommand(program: Command): void {
  program
    .command('webhooks')
    .description('Deliver alerts from the alerts topic to the configured webhook endpoints (signed, retried, durable)')
    .addHelpText(
      'after',
      `\nEndpoints are config (webhooks.endpoints, docs/WEBHOOKS.md); secrets come from the variables they name.\n` +
        `\nExamples:\n` +
        `  export TICKLAKE_WEBHOOK_SECRET=$(ticklake webhook-receiver --new-secret)\n` +
        `  TICKLAKE_WEBHOOKS_ENDPOINTS='${ENDPOINTS_EXAMPLE}' ticklake webhooks\n` +
        `  ticklake --config webhooks.yaml webhooks`,
    )
    .action(async (_o: unknown, cmd: Command) => {
      const stopRequested = shutdownSignal();
      const config = configFrom(cmd);
      const log = createLogger({ component: 'webhooks' }, config.log.level);
      const registry = initProcessMetrics('webhooks');
      const kafka = kafkaClient(config, 'ticklake-webhooks');
      const store = new KafkaDeliveryStore(kafka, config, log);
      // Built first: a refused endpoint (allowlist, http, missing secret) stops the process before it connects.
      const dispatcher = new WebhookDispatcher({
        settings: dispatcherSettings(config),
        store,
        metrics: createWebhookMetrics(registry),
        log,
      });
      if (!config.webhooks.endpoints.length) {
        log.warn('no webhook endpoints configured (webhooks.endpoints): alerts are consumed and not delivered');
      }
      // Ready once it consumes, until asked to stop.
      const health = processHealth(config, 'webhooks', registry);
      const metrics = await startRoleMetricsServer(registry, config, 'webhooks', health);
      await ensureTopics(kafka, config);
      const { resumed } = await dispatcher.start();
      const consumer = new AlertConsumer(kafka, config, dispatcher, log, (err) => {
        log.error('alerts consumer stopped for good; exiting so a supervisor restarts us', { error: err.message });
        process.exit(1);
      });
      await consumer.start();
      health.markStarted();
      progressLine(
        `[webhooks] delivering ${topicName(config, 'alerts')} to ${dispatcher.endpointNames().join(', ') || 'no endpoint'}` +
          ` as group ${consumer.groupId}; ${resumed} unfinished deliveries resumed`,
      );
      await stopRequested;
      health.markStopping();
      await consumer.stop();
      await dispatcher.stop();
      await store.close();
      metrics.close();
      progressLine('[webhooks] stopped');
    });

  program
    .command('webhook-receiver')
    .description('A webhook endpoint to try delivery with: verifies signatures, rejects replays, prints each alert')
    .option('--port <port>', 'listen on this port (default: webhooks.receiverPort)')
    .option('--new-secret', 'print a new whsec_ secret and exit')
    .addHelpText(
      'after',
      `\nSecrets: the variables named by webhooks.receiverSecretEnv (default TICKLAKE_WEBHOOK_SECRET); two while rotating.\n` +
        `\nExamples:\n` +
        `  export TICKLAKE_WEBHOOK_SECRET=$(ticklake webhook-receiver --new-secret)\n` +
        `  ticklake webhook-receiver                # http://127.0.0.1:8787/\n` +
        `  TICKLAKE_WEBHOOKS_RECEIVER_SECRET_ENV=OLD_SECRET,NEW_SECRET ticklake webhook-receiver --port 9000`,
    )
    .action(async (o: { port?: string; newSecret?: boolean }, cmd: Command) => {
      if (o.newSecret) {
        process.stdout.write(`${newSecret()}\n`);
        return;
      }
      const stopRequested = shutdownSignal();
      const config = configFrom(cmd);
      const w = config.webhooks;
      const secrets = w.receiverSecretEnv.map((name) => {
        const s = process.env[name];
        if (!s || !isSecretFormat(s)) {
          throw new TickLakeError(
            'CONFIG_INVALID',
            `${name} must hold a whsec_ secret (make one: ticklake webhook-receiver --new-secret)`,
          );
        }
        return secretKey(s);
      });
      const receiver = new WebhookReceiver({
        secrets,
        toleranceSec: w.receiverToleranceSec,
        seenCapacity: w.receiverSeenIds,
        print: (line) => process.stdout.write(`${line}\n`),
      });
      const port = await receiver.listen(o.port ? Number(o.port) : w.receiverPort, w.receiverHost);
      progressLine(`[webhook-receiver] listening on http://${w.receiverHost}:${port}/ (${secrets.length} secret(s))`);
      await stopRequested;
      await receiver.close();
      progressLine(
        `[webhook-receiver] stopped: ${receiver.counts.accepted} accepted, ${receiver.counts.duplicate} duplicates, ${receiver.counts.rejected} rejected`,
      );
    });
}
