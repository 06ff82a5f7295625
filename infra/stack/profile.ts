import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ConfigInput } from '../../core/config.ts';

const BASE = {
  kafkaPort: 9092,
  kafkaControllerPort: 9093,
  temporalPort: 7233,
  temporalUiPort: 8233,
  temporalHttpPort: 7243,
  temporalMetricsPort: 7244,
  s3Port: 7070,
  bigqueryPort: 9050,
  bigqueryGrpcPort: 9060,
  prometheusPort: 9090,
} as const;

/**
 * Config overrides for a second local stack beside the default one: every port shifted by `offset`, clients
 * pointed at the shifted ports, its own state dir. The test suite runs on offset 10000, so `npm test` works
 * while the demo runs.
 */
export function shiftedStackProfile(offset: number, stateDir: string): ConfigInput {
  const ports = Object.fromEntries(Object.entries(BASE).map(([k, v]) => [k, v + offset])) as Record<
    keyof typeof BASE,
    number
  >;
  return {
    stack: { ...ports, stateDir },
    kafka: { brokers: [`127.0.0.1:${ports.kafkaPort}`] },
    temporal: { address: `127.0.0.1:${ports.temporalPort}` },
    s3: { endpoint: `http://127.0.0.1:${ports.s3Port}` },
    bigquery: { apiEndpoint: `http://127.0.0.1:${ports.bigqueryPort}` },
    metrics: {
      workerPort: 9464 + offset,
      processPort: 9465 + offset,
      sinkPort: 9466 + offset,
      ingestPort: 9467 + offset,
      alertsPort: 9468 + offset,
      webhooksPort: 9469 + offset,
      dashboardPort: 9470 + offset,
    },
    webhooks: { receiverPort: 8787 + offset },
    dashboard: { port: 3000 + offset },
  };
}

export const TEST_PORT_OFFSET = 10_000;

/** The integration suite's stack: ports shifted by 10000 and its own state dir (TICKLAKE_TEST_STATE_DIR). */
export function testStackProfile(env: NodeJS.ProcessEnv = process.env): ConfigInput {
  const stateDir =
    env.TICKLAKE_TEST_STATE_DIR || join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'ticklake-test');
  return shiftedStackProfile(TEST_PORT_OFFSET, stateDir);
}
