import { BarAggregator, type BarAggregatorSnapshot, type BarEvent } from '../../core/bars.ts';
import { Deduper, type DedupeSnapshot } from '../../core/dedupe.ts';
import { Enricher, type EnricherSnapshot } from '../../core/enrich.ts';
import type { Bar } from '../../core/schemas/bar.ts';
import type { DlqReason } from '../../core/schemas/dlq.ts';
import type { EnrichedTick } from '../../core/schemas/enriched.ts';
import type { ReferenceSymbol } from '../../core/schemas/reference.ts';
import type { TradeTick } from '../../core/schemas/tick.ts';
import type { Config } from '../../core/config.ts';
import { decodeRawTick, validationLimitsSchema, type ValidationLimits } from '../../core/validate.ts';
import { HEARTBEAT_KEY, parseHeartbeat } from '../heartbeat.ts';

/**
 * What one `ticks.raw` partition turns into: the pure core (validate → dedupe → enrich → bars) applied record by
 * record, with all state that must survive a restart in one snapshot. No Kafka here: the processor runtime feeds
 * records and ships the outputs; tests and the batch path can drive it directly.
 */
export interface RawRecord {
  key: string | null;
  value: Buffer | null;
  offset: string;
  /** The Kafka record timestamp in ms: the deterministic "now" for time-bound checks, so replays agree. */
  timestampMs: number;
}

export interface Rejected {
  record: RawRecord;
  reason: DlqReason;
  detail: string;
}

export interface LateTick {
  tick: TradeTick;
  reason: string;
  windowStart: number;
  watermark: number;
}

export interface PipelineOutputs {
  enriched: EnrichedTick[];
  bars: Bar[];
  late: LateTick[];
  rejected: Rejected[];
  duplicates: number;
  heartbeats: number;
}

export interface PipelineOptions {
  limits: ValidationLimits;
  dedupeCapacity: number;
  dedupeWindowUs: number;
  outOfOrdernessUs: number;
  allowedLatenessUs: number;
  ewmaLambda?: number;
}

/** The pipeline's options from the `processor` config section: one translation, used by the processor and tests. */
export function pipelineOptionsFrom(config: Config): PipelineOptions {
  const p = config.processor;
  return {
    limits: validationLimitsSchema.parse({
      maxBytes: p.maxPayloadBytes,
      maxAheadUs: p.maxAheadMs * 1000,
      maxBehindUs: p.maxBehindMs === 0 ? null : p.maxBehindMs * 1000,
    }),
    dedupeCapacity: p.dedupeCapacity,
    dedupeWindowUs: p.dedupeWindowMs * 1000,
    outOfOrdernessUs: p.outOfOrdernessMs * 1000,
    allowedLatenessUs: p.allowedLatenessMs * 1000,
  };
}

export interface PipelineSnapshot {
  v: 1;
  /** The first offset not yet reflected in this state. */
  nextOffset: string;
  dedupe: DedupeSnapshot;
  enrich: EnricherSnapshot;
  bars: BarAggregatorSnapshot;
}

export function emptyOutputs(): PipelineOutputs {
  return { enriched: [], bars: [], late: [], rejected: [], duplicates: 0, heartbeats: 0 };
}

export class PartitionPipeline {
  nextOffset: string;

  private constructor(
    private readonly options: PipelineOptions,
    private readonly deduper: Deduper,
    private readonly enricher: Enricher,
    private readonly bars: BarAggregator,
    nextOffset: string,
  ) {
    this.nextOffset = nextOffset;
  }

  static create(options: PipelineOptions, nextOffset = '0'): PartitionPipeline {
    return new PartitionPipeline(
      options,
      new Deduper({ capacity: options.dedupeCapacity, windowUs: options.dedupeWindowUs }),
      new Enricher(options.ewmaLambda === undefined ? {} : { lambda: options.ewmaLambda }),
      new BarAggregator({ outOfOrdernessUs: options.outOfOrdernessUs, allowedLatenessUs: options.allowedLatenessUs }),
      nextOffset,
    );
  }

  static restore(options: PipelineOptions, snapshot: PipelineSnapshot): PartitionPipeline {
    return new PartitionPipeline(
      options,
      Deduper.restore(snapshot.dedupe),
      Enricher.restore(snapshot.enrich),
      BarAggregator.restore(snapshot.bars),
      snapshot.nextOffset,
    );
  }

  snapshot(): PipelineSnapshot {
    return {
      v: 1,
      nextOffset: this.nextOffset,
      dedupe: this.deduper.snapshot(),
      enrich: this.enricher.snapshot(),
      bars: this.bars.snapshot(),
    };
  }

  /**
   * Applies one record. `processedTs` stamps enriched output only; it never feeds state, so a replay from a
   * snapshot rebuilds exactly the state the original run had.
   */
  process(
    record: RawRecord,
    reference: ReadonlyMap<string, ReferenceSymbol> | undefined,
    processedTs: number,
    out: PipelineOutputs,
  ): void {
    this.nextOffset = (BigInt(record.offset) + 1n).toString();
    if (record.key === HEARTBEAT_KEY) {
      const ts = parseHeartbeat(record.value);
      if (ts !== undefined) {
        out.heartbeats++;
        this.collectBars(this.bars.advanceWatermark(ts - this.options.outOfOrdernessUs), out);
        return;
      }
    }
    const decoded = decodeRawTick(record.value, this.options.limits, record.timestampMs * 1000, reference);
    if (!decoded.ok) {
      out.rejected.push({ record, reason: decoded.reason, detail: decoded.detail });
      return;
    }
    const tick = decoded.tick;
    if (this.deduper.seen(tick.id, tick.ts)) {
      out.duplicates++;
      return;
    }
    const events = this.bars.add(tick);
    let late = false;
    for (const e of events) {
      if (e.kind === 'late') {
        late = true;
        out.late.push({ tick: e.tick, reason: e.reason, windowStart: e.windowStart, watermark: e.watermark });
      }
    }
    this.collectBars(events, out);
    // A trade too late for its bar is kept in ticks.late, not enriched: the lake's enriched table then holds
    // exactly the trades the bars were built from, which is what reconciliation compares.
    if (!late) out.enriched.push(this.enricher.enrich(tick, reference?.get(tick.symbol), processedTs));
  }

  private collectBars(events: BarEvent[], out: PipelineOutputs): void {
    for (const e of events) if (e.kind === 'bar') out.bars.push(e.bar);
  }
}
