/**
 * The pipeline processes the demo (`npm start`) runs beside the stack, each as its own `ticklake` child
 * process, in start order. Later stages add themselves here; one list keeps the demo and docs in step.
 */
export interface PipelineProcess {
  name: string;
  args: string[];
  /** Extra environment, e.g. a distinct metrics port per process. */
  env?: Record<string, string>;
}

export function demoPipeline(metricsBasePort: number): PipelineProcess[] {
  const stages: Array<Omit<PipelineProcess, 'env'>> = [{ name: 'worker', args: ['worker'] }];
  // Each process gets its own metrics port: base, base+1, ... (Prometheus scrapes base..base+7).
  return stages.map((s, i) => ({ ...s, env: { TICKLAKE_METRICS_PORT: String(metricsBasePort + i) } }));
}
