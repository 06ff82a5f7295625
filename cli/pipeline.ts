import { join } from 'node:path';
import type { Config } from '../core/config.ts';

/**
 * The pipeline processes the demo (`npm start`) runs beside the stack, each as its own `ticklake` child process,
 * in start order. One list keeps the demo, docker-compose and the docs in step.
 */
export interface PipelineProcess {
  name: string;
  args: string[];
  /** Extra environment, e.g. a distinct metrics port per process. */
  env?: Record<string, string>;
}

/** The demo's market: 50 symbols ticking in real time from now on, with a few labelled anomalies and faults. */
export function demoIngestArgs(config: Config): string[] {
  const set = (kv: string) => ['--set', kv];
  return [
    'ingest',
    '--source',
    'synthetic',
    ...set('speed=1'),
    ...set('start=now'),
    ...set('tradingHours=false'),
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

export function demoPipeline(config: Config): PipelineProcess[] {
  // Each role has its own metrics port by default (metrics.workerPort, processPort, ...), so no env is needed.
  return [
    { name: 'worker', args: ['worker'] },
    { name: 'process', args: ['process', '--instance', 'demo-0'] },
    { name: 'sink', args: ['sink', '--table', 'raw,enriched,bars,alerts'] },
    { name: 'ingest', args: demoIngestArgs(config) },
  ];
}
