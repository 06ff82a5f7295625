import type { Bar } from '../../core/schemas/bar.ts';
import type { ReferenceSymbol } from '../../core/schemas/reference.ts';
import { emptyOutputs, PartitionPipeline, type PipelineOptions, type PipelineOutputs } from '../../core/pipeline.ts';
import type { ReadMessage } from './kafka.ts';

/**
 * What a single, never-interrupted processor would output for these raw records: each partition run once, in
 * offset order, through the same pure pipeline. The streaming result must equal it however the stream was split
 * across instances, killed or restarted.
 */
export function offlinePipeline(
  raw: ReadMessage[],
  options: PipelineOptions,
  reference: ReadonlyMap<string, ReferenceSymbol>,
): PipelineOutputs {
  const out = emptyOutputs();
  const pipelines = new Map<number, PartitionPipeline>();
  for (const m of raw) {
    let p = pipelines.get(m.partition);
    if (!p) pipelines.set(m.partition, (p = PartitionPipeline.create(options)));
    p.process({ key: m.key, value: m.value, offset: m.offset, timestampMs: Number(m.timestamp) }, reference, 0, out);
  }
  return out;
}

/** The latest revision of each (symbol, windowStart). */
export function latestBars(bars: Iterable<Bar>): Map<string, Bar> {
  const latest = new Map<string, Bar>();
  for (const b of bars) {
    const key = `${b.symbol}@${b.windowStart}`;
    const prev = latest.get(key);
    if (!prev || b.revision > prev.revision) latest.set(key, b);
  }
  return latest;
}
