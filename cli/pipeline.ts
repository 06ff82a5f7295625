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

export function demoPipeline(): PipelineProcess[] {
  return [{ name: 'worker', args: ['worker'] }];
}
