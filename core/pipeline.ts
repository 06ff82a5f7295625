import { z } from 'zod';
import { BarAggregator, barAggregatorSnapshotSchema, type BarEvent, type LateTrade } from './bars.ts';
import type { Config } from './config.ts';
import { Deduper, dedupeSnapshotSchema } from './dedupe.ts';
import { Enricher, enricherSnapshotSchema } from './enrich.ts';
import type { Bar } from './schemas/bar.ts';
import type { DlqReason } from './schemas/dlq.ts';
import type { EnrichedTick } from './schemas/enriched.ts';
import { HEARTBEAT_KEY, parseHeartbeat } from './schemas/heartbeat.ts';
import type { ReferenceSymbol } from './schemas/reference.ts';
import { decodeRawTick, validationLimitsSchema, type ValidationLimits } from './validate.ts';

/**
 * What one `ticks.raw` partition turns into: the pure core (validate → dedupe → enrich → bars) applied record by
 * record, with all state that must survive a restart in one snapshot. No Kafka here: the processor runtime feeds
 * records and ships the outputs; tests and the batch path drive it directly.
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

/**
 * What to do with a valid tick whose symbol the symbol master does not hold. `accept` (the default) keeps it and
 * enriches it with what is known (reference fields null), so a replay of one's own file or a feed's new listing
 * goes through; `dlq` dead-letters it as `unknown_symbol`.
 */
export const UNKNOWN_SYMBOL_POLICIES = ['accept', 'dlq'] as const;
export type UnknownSymbolPolicy = (typeof UNKNOWN_SYMBOL_POLICIES)[number];

export interface PipelineOutputs {
  enriched: EnrichedTick[];
  bars: Bar[];
  late: LateTrade[];
  rejected: Rejected[];
  duplicates: number;
  heartbeats: number;
  /** Ticks accepted without reference data (policy `accept`), by symbol. */
  unknownSymbols: Map<string, number>;
}

export interface PipelineOptions {
  limits: ValidationLimits;
  dedupeCapacity: number;
  dedupeWindowUs: number;
  outOfOrdernessUs: number;
  allowedLatenessUs: number;
  unknownSymbols: UnknownSymbolPolicy;
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
    unknownSymbols: p.unknownSymbols,
  };
}

const offsetSchema = z.string().regex(/^\d+$/);

/** A processor checkpoint (`processor.state`, key = input partition, value gzip'd JSON of this). */
export const pipelineSnapshotSchema = z.object({
  v: z.literal(1),
  /** The first offset not yet reflected in this state. */
  nextOffset: offsetSchema,
  dedupe: dedupeSnapshotSchema,
  enrich: enricherSnapshotSchema,
  bars: barAggregatorSnapshotSchema,
});
export type PipelineSnapshot = z.infer<typeof pipelineSnapshotSchema>;

/** What the committed consumer offset's metadata holds: where the partition's latest checkpoint is. */
export const checkpointRefSchema = z.object({
  /** Offset of the checkpoint record in processor.state (same partition number as the input). */
  o: offsetSchema,
  /** The input offset the checkpoint's state reflects (its nextOffset). */
  n: offsetSchema,
});
export type CheckpointRef = z.infer<typeof checkpointRefSchema>;

export function emptyOutputs(): PipelineOutputs {
  return {
    enriched: [],
    bars: [],
    late: [],
    rejected: [],
    duplicates: 0,
    heartbeats: 0,
    unknownSymbols: new Map(),
  };
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

  /** From a checkpoint as read back (unknown JSON): parsed by its schema first. */
  static restore(options: PipelineOptions, snapshot: unknown): PartitionPipeline {
    const s = pipelineSnapshotSchema.parse(snapshot);
    return new PartitionPipeline(
      options,
      Deduper.restore(s.dedupe),
      Enricher.restore(s.enrich),
      BarAggregator.restore(s.bars),
      s.nextOffset,
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
    // The symbol master is consulted here, after validation, so the policy decides what an unknown symbol means.
    const decoded = decodeRawTick(record.value, this.options.limits, record.timestampMs * 1000);
    if (!decoded.ok) {
      out.rejected.push({ record, reason: decoded.reason, detail: decoded.detail });
      return;
    }
    const tick = decoded.tick;
    const ref = reference?.get(tick.symbol);
    if (reference !== undefined && ref === undefined) {
      if (this.options.unknownSymbols === 'dlq') {
        const detail = `symbol ${JSON.stringify(tick.symbol)} is not in the symbol master`;
        out.rejected.push({ record, reason: 'unknown_symbol', detail });
        return;
      }
      out.unknownSymbols.set(tick.symbol, (out.unknownSymbols.get(tick.symbol) ?? 0) + 1);
    }
    if (this.deduper.seen(tick.id, tick.ts)) {
      out.duplicates++;
      return;
    }
    const events = this.bars.add(tick);
    let late = false;
    for (const e of events) {
      if (e.kind === 'late') {
        late = true;
        out.late.push(e);
      }
    }
    this.collectBars(events, out);
    // A trade too late for its bar is kept in ticks.late, not enriched: the lake's enriched table then holds
    // exactly the trades the bars were built from, which is what reconciliation compares.
    if (!late) out.enriched.push(this.enricher.enrich(tick, ref, processedTs));
  }

  private collectBars(events: BarEvent[], out: PipelineOutputs): void {
    for (const e of events) if (e.kind === 'bar') out.bars.push(e.bar);
  }
}
