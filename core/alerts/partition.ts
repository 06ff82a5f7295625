import { emptyOutputs, PartitionPipeline, type PipelineOutputs, type RawRecord } from '../pipeline.ts';
import type { Alert } from '../schemas/alert.ts';
import { decodeHeartbeat, HEARTBEAT_KEY } from '../schemas/heartbeat.ts';
import type { ReferenceSymbol } from '../schemas/reference.ts';
import type { AlertEngine } from './engine.ts';
import { speedLayerSnapshotSchema, type SpeedLayerSnapshot } from './snapshot.ts';

/**
 * The speed layer over one `ticks.raw` partition, pure: each raw record goes through the processor's pipeline
 * (validate → dedupe → enrich → bars) and what it yields through the alert rules, in one fixed order. The stream
 * process (`ticklake alerts`), the quality evaluation and the batch recomputation all call this, so they agree
 * alert for alert on the same records.
 */
export class SpeedLayerPartition {
  constructor(
    readonly pipeline: PartitionPipeline,
    readonly engine: AlertEngine,
  ) {}

  get nextOffset(): string {
    return this.pipeline.nextOffset;
  }

  set nextOffset(offset: string) {
    this.pipeline.nextOffset = offset;
  }

  snapshot(): SpeedLayerSnapshot {
    return { v: 1, pipeline: this.pipeline.snapshot(), engine: this.engine.snapshot() };
  }

  /** Restores both halves from a checkpoint (unknown JSON, parsed first) into a fresh pipeline and `engine`. */
  static restore(
    options: Parameters<typeof PartitionPipeline.restore>[0],
    engine: AlertEngine,
    snapshot: unknown,
  ): SpeedLayerPartition {
    const s = speedLayerSnapshotSchema.parse(snapshot);
    engine.restore(s.engine);
    return new SpeedLayerPartition(PartitionPipeline.restore(options, s.pipeline), engine);
  }

  /**
   * One record: a heartbeat first tells the rules its source is alive; then the pipeline runs, and the enriched
   * tick and any bars it closed (a heartbeat's watermark closes bars too) go to the rules. Alerts are appended to
   * `alerts`. `out` may be reused across records: only what this record added is evaluated.
   */
  apply(
    record: RawRecord,
    reference: ReadonlyMap<string, ReferenceSymbol> | undefined,
    processedTs: number,
    alerts: Alert[],
    out: PipelineOutputs = emptyOutputs(),
  ): void {
    if (record.key === HEARTBEAT_KEY) {
      const hb = decodeHeartbeat(record.value);
      if (hb) alerts.push(...this.engine.onHeartbeat(hb));
    }
    const enrichedFrom = out.enriched.length;
    const barsFrom = out.bars.length;
    this.pipeline.process(record, reference, processedTs, out);
    for (let i = enrichedFrom; i < out.enriched.length; i++) alerts.push(...this.engine.onTick(out.enriched[i]!));
    for (let i = barsFrom; i < out.bars.length; i++) alerts.push(...this.engine.onBar(out.bars[i]!));
  }
}
