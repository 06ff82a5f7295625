import type { S3Client } from '@aws-sdk/client-s3';
import { BigQuery } from '@google-cloud/bigquery';
import { Client, Connection } from '@temporalio/client';
import { OAuth2Client } from 'google-auth-library';
import { Kafka, logLevel, type logCreator } from 'kafkajs';
import type { Config } from '../core/config.ts';
import { createLogger, type LogLevel } from './logger.ts';
import { DuckDb } from '../lake/duckdb.ts';
import { S3Storage, s3ClientFromConfig } from '../lake/storage/s3.ts';
import type { Storage } from '../lake/storage/storage.ts';
import type { WarehouseDeps } from '../warehouse/warehouse.ts';

/** The one place each external client is built from config, so every process talks to the same endpoints. */

export function kafkaClient(config: Config, clientId = config.kafka.clientId): Kafka {
  return new Kafka({
    brokers: config.kafka.brokers,
    clientId,
    logLevel: config.log.level === 'debug' ? logLevel.DEBUG : logLevel.WARN,
    logCreator: kafkajsLogs(config.log.level),
  });
}

/**
 * kafkajs logs through our JSON logger. It reports every failed request at ERROR although it retries them (a
 * coordinator still loading, a leader moving): those are warnings to us; real failures surface as thrown errors.
 */
const TRANSIENT =
  /coordinator is (loading|not available)|not the (leader|correct coordinator)|concurrent operation on the same transaction|leadership election/i;

function kafkajsLogs(level: LogLevel): logCreator {
  const log = createLogger({ component: 'kafkajs' }, level);
  return () =>
    ({ level: l, log: entry }) => {
      const { message, timestamp: _t, logger: _l, ...fields } = entry;
      // Start-up and rebalance noise that kafkajs retries by itself.
      if (TRANSIENT.test(String(fields.error ?? '')) || TRANSIENT.test(message)) log.debug(message, fields);
      else if (l === logLevel.ERROR || l === logLevel.WARN) log.warn(message, fields);
      else if (l === logLevel.INFO) log.info(message, fields);
      else log.debug(message, fields);
    };
}

export function s3Client(config: Config): S3Client {
  return s3ClientFromConfig(config.s3);
}

/** The lake's object store: the configured bucket under `s3.lakePrefix`. */
export function lakeStorage(config: Config): S3Storage {
  return new S3Storage(config.s3, {
    prefix: config.s3.lakePrefix,
    atomicPutIfAbsent: config.s3.atomicConditionalWrites,
  });
}

/** The DuckDB compaction rewrites with, as `compaction.*` configures it; the caller closes it. */
export function compactionDuckDb(config: Config): DuckDb {
  return new DuckDb({
    threads: config.compaction.duckdbThreads,
    memoryLimit: config.compaction.duckdbMemoryLimit,
    tempDir: config.compaction.duckdbTempDir,
  });
}

export function bigqueryClient(config: Config): BigQuery {
  // apiEndpoint (not BIGQUERY_EMULATOR_HOST) is what the Node client honours for every API, uploads included.
  // The emulator checks no credentials, but the client insists on an auth client: give it a static token
  // rather than letting it probe a metadata server that isn't there. Real BigQuery uses Application Default Credentials.
  const local = /^http:\/\/(127\.0\.0\.1|localhost|bigquery-emulator)\b/.test(config.bigquery.apiEndpoint);
  return new BigQuery({
    projectId: config.bigquery.projectId,
    apiEndpoint: config.bigquery.apiEndpoint,
    location: config.bigquery.location,
    ...(local ? { authClient: emulatorAuth() } : {}),
  });
}

/** The warehouse loader's dependencies: the configured dataset, read from `storage` (the lake). */
export function warehouseDeps(config: Config, storage: Storage): Omit<WarehouseDeps, 'heartbeat' | 'failpoint'> {
  return {
    bigquery: bigqueryClient(config),
    storage,
    projectId: config.bigquery.projectId,
    dataset: config.bigquery.dataset,
    location: config.bigquery.location,
    gcsLakeUri: config.bigquery.gcsLakeUri,
    concurrency: config.bigquery.loadConcurrency,
  };
}

function emulatorAuth(): OAuth2Client {
  const auth = new OAuth2Client();
  auth.setCredentials({ access_token: 'emulator', expiry_date: Date.now() + 365 * 24 * 3600 * 1000 });
  return auth;
}

/** A Temporal client on the configured namespace; `close()` closes its connection. */
export async function temporalClient(config: Config): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect({ address: config.temporal.address, connectTimeout: 5_000 });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  return { client, close: () => connection.close() };
}
