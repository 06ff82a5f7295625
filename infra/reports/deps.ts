import type { Kafka } from 'kafkajs';
import type { ReportActivityDeps } from '../../activities/report.ts';
import type { Config } from '../../core/config.ts';
import { dayRangeUs, previousDay } from '../../core/reports/model.ts';
import { topicName } from '../../core/topics.ts';
import { S3Storage } from '../../lake/storage/s3.ts';
import type { Storage } from '../../lake/storage/storage.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';
import { symbolsOnDay } from './gather.ts';
import { PdfPrinter } from './pdf.ts';

/** The report's dependencies from config: the worker and `ticklake report` build them the same way. */
export function reportDeps(
  config: Config,
  clients: { storage: Storage; kafka?: Kafka; warehouse?: Warehouse; env?: NodeJS.ProcessEnv; pdf?: boolean },
): ReportActivityDeps & { reports: S3Storage; close: () => Promise<void> } {
  const r = config.reports;
  const env = clients.env ?? process.env;
  const reports = new S3Storage(config.s3, { prefix: r.prefix });
  const printer = (clients.pdf ?? r.pdf) ? new PdfPrinter(r.chromiumPath) : undefined;
  const secrets = r.webhookSecretEnv.map((name) => env[name]).filter((s): s is string => !!s);
  return {
    storage: clients.storage,
    reports,
    reportsUri: `s3://${config.s3.bucket}/${r.prefix}`,
    printer,
    top: r.top,
    expectedSymbols: (date) => symbolsOnDay(clients.storage, previousDay(dayRangeUs(date).fromUs / 1000)),
    kafka: clients.kafka && {
      client: clients.kafka,
      dlqTopic: topicName(config, 'dlq'),
      lateTopic: topicName(config, 'late'),
    },
    warehouse: clients.warehouse,
    ...(r.webhookUrl
      ? {
          announce: {
            url: r.webhookUrl,
            secrets,
            allowedHosts: config.webhooks.allowedHosts,
            timeoutMs: r.webhookTimeoutMs,
          },
        }
      : {}),
    close: async () => {
      reports.client.destroy();
      await printer?.close();
    },
  };
}
