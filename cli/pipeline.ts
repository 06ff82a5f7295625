import { join } from 'node:path';
import type { Config } from '../core/config.ts';

/**
 * The pipeline processes, each a `ticklake` child process, in start order: the demo (`npm start`) runs them beside
 * the stack, docker-compose runs them as containers. test/unit/compose.test.ts checks that docker-compose.yml's
 * app services run exactly these commands, so the two stay in step.
 */
export interface PipelineProcess {
  name: string;
  args: string[];
  /** Extra environment for the child. */
  env?: Record<string, string>;
}

/** The market both run: the synthetic source in real time from now, all day. */
export const LIVE_SYNTHETIC_INGEST = [
  'ingest',
  '--source',
  'synthetic',
  '--set',
  'speed=1',
  '--set',
  'start=now',
  '--set',
  'tradingHours=false',
];

/** Every stage; `instance` is the processor's stable id. Each role has its own metrics port by default. */
export function pipelineStages(instance: string, ingestArgs: string[] = LIVE_SYNTHETIC_INGEST): PipelineProcess[] {
  return [
    { name: 'worker', args: ['worker'] },
    { name: 'process', args: ['process', '--instance', instance] },
    { name: 'sink', args: ['sink', '--table', 'raw,enriched,bars,alerts'] },
    { name: 'alerts', args: ['alerts', '--instance', instance] },
    // Before ingest, so the market's first bars reach it live (it reads each topic from its end).
    { name: 'dashboard', args: ['dashboard'] },
    { name: 'ingest', args: ingestArgs },
  ];
}

/** The demo's market: 50 symbols, with a few labelled anomalies and faults, labels written to the state dir. */
export function demoIngestArgs(config: Config): string[] {
  const set = (kv: string) => ['--set', kv];
  return [
    ...LIVE_SYNTHETIC_INGEST,
    ...set('symbols=50'),
    ...set('anomalies.priceJump.rate=0.0002'),
    ...set('anomalies.volumeSpike.rate=0.0002'),
    ...set('anomalies.spreadBlowout.rate=0.0002'),
    ...set('anomalies.duplicate.rate=0.001'),
    ...set('anomalies.outOfOrder.rate=0.001'),
    ...set('anomalies.late.rate=0.0002'),
    ...set('anomalies.malformed.rate=0.0002'),
    ...set(`labelsFile=${join(config.stack.stateDir, 'demo', 'labels.ndjson')}`),
  ];
}

/**
 * The demo's stages, plus a `webhook-receiver` on loopback that the alerts process delivers to, both given the same
 * fresh secret (`secret`, a whsec_ value made per demo run) through the environment, never a file. The worker
 * announces daily reports to that receiver with the same secret.
 */
export function demoPipeline(config: Config, secret: string): PipelineProcess[] {
  const env = { TICKLAKE_WEBHOOK_SECRET: secret };
  const endpoint = {
    name: 'demo-receiver',
    url: `http://127.0.0.1:${config.webhooks.receiverPort}/`,
    secretEnv: 'TICKLAKE_WEBHOOK_SECRET',
  };
  const stages = pipelineStages('demo-0', demoIngestArgs(config));
  const alerts = stages.findIndex((s) => s.name === 'alerts');
  stages[alerts] = { ...stages[alerts]!, env: { ...env, TICKLAKE_WEBHOOKS_ENDPOINTS: JSON.stringify([endpoint]) } };
  stages.splice(alerts, 0, { name: 'webhook-receiver', args: ['webhook-receiver'], env });
  // The worker's daily reports (the schedule's runs) are announced to the same receiver.
  const worker = stages.findIndex((s) => s.name === 'worker');
  stages[worker] = {
    ...stages[worker]!,
    env: { TICKLAKE_REPORT_WEBHOOK_SECRET: secret, TICKLAKE_REPORTS_WEBHOOK_URL: endpoint.url },
  };
  return stages;
}
