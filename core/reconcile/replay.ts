import { AlertEngine, type ModelScorer } from '../alerts/engine.ts';
import { SpeedLayerPartition } from '../alerts/partition.ts';
import type { ResolvedRule } from '../alerts/rules.ts';
import { windowStartOf } from '../bar-fold.ts';
import { emptyOutputs, PartitionPipeline, type PipelineOptions } from '../pipeline.ts';
import type { Alert } from '../schemas/alert.ts';
import { BAR_INTERVAL_US, barKey, type Bar } from '../schemas/bar.ts';
import type { ReferenceSymbol } from '../schemas/reference.ts';
import type { Tick, TradeTick } from '../schemas/tick.ts';

/**
 * The stream, replayed from the lake's raw ticks: every tick through the speed layer's pure composition
 * (SpeedLayerPartition = the processor's PartitionPipeline + the AlertEngine), in arrival order, so dedupe,
 * lateness, bars and alerts are decided by the code the stream runs and in the order it saw the ticks.
 *
 * Arrival order: the raw table keeps no Kafka offset, only `recvTs` (when ticklake received the tick), so ticks are
 * replayed by (recvTs, ts, seq, id). One pipeline takes every symbol. The stream's pipelines are per Kafka
 * partition: a partition's watermark is at least what its own ticks give (so at least what the tick's own symbol's
 * earlier trades give: a symbol is one key, one partition) and at most what every tick gives (ingest's heartbeats
 * carry the source's reached event time to every partition, never more). Each trade is therefore judged against
 * both bounds: late for sure when even its symbol's own watermark had closed its window, on time for sure when not
 * even the global one had, and otherwise ambiguous — the comparison then accepts either outcome for it.
 */
export interface ReplayOptions {
  pipeline: PipelineOptions;
  rules: readonly ResolvedRule[];
  scorers?: Readonly<Record<string, ModelScorer>>;
  reference?: ReadonlyMap<string, ReferenceSymbol>;
}

/** A trade that reached the bar aggregator (valid, not a duplicate), with how the replay judged its lateness. */
export interface ReplayedTrade {
  tick: TradeTick;
  /**
   * The lowest and highest watermark its partition can have had when it arrived, minus its window's closing point
   * (window end + allowed lateness), µs: closed for sure when `lowUs` >= 0, open for sure when `highUs` < 0.
   */
  lowUs: number;
  highUs: number;
  /** The replay (global watermark) dropped it as too late for its window, as the stream does into ticks.late. */
  late: boolean;
}

export interface ReplayResult {
  /** By barKey(symbol, windowStart): every trade of the window that passed validation and dedupe. */
  windows: Map<string, ReplayedTrade[]>;
  /** By barKey: the replay's own latest bar revision, what the stream should have in its bars table. */
  bars: Map<string, Bar>;
  alerts: Alert[];
  counts: { records: number; trades: number; late: number; duplicates: number; rejected: number };
}

export function arrivalOrder(a: Tick, b: Tick): number {
  return a.recvTs - b.recvTs || a.ts - b.ts || a.seq - b.seq || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function replayStream(ticks: readonly Tick[], opts: ReplayOptions): ReplayResult {
  const ordered = [...ticks].sort(arrivalOrder);
  const engine = new AlertEngine(opts.rules, { now: () => 0, scorers: opts.scorers });
  const speed = new SpeedLayerPartition(PartitionPipeline.create(opts.pipeline), engine);
  const { outOfOrdernessUs, allowedLatenessUs } = opts.pipeline;
  const result: ReplayResult = {
    windows: new Map(),
    bars: new Map(),
    alerts: [],
    counts: { records: 0, trades: 0, late: 0, duplicates: 0, rejected: 0 },
  };
  // The BarAggregator's watermark, followed from outside: the highest trade time that reached it, minus the
  // out-of-orderness (quotes, duplicates and rejected records never move it); and the same per symbol.
  let maxTradeTs = Number.NEGATIVE_INFINITY;
  const symbolMax = new Map<string, number>();
  const out = emptyOutputs();
  let offset = 0;
  for (const tick of ordered) {
    const lateBefore = out.late.length;
    const enrichedBefore = out.enriched.length;
    const barsBefore = out.bars.length;
    const rejectedBefore = out.rejected.length;
    // Buffer is the record type the pipeline takes from Kafka; the JSON is the tick as ingest sent it.
    const value = Buffer.from(JSON.stringify(tick));
    speed.apply(
      { key: tick.symbol, value, offset: String(offset++), timestampMs: Math.floor(tick.recvTs / 1000) },
      opts.reference,
      0,
      result.alerts,
      out,
    );
    result.counts.records++;
    if (out.rejected.length > rejectedBefore) result.counts.rejected++;
    if (tick.type === 'trade') {
      const reached = out.late.length > lateBefore || out.enriched.length > enrichedBefore;
      if (reached) {
        const windowStart = windowStartOf(tick.ts, BAR_INTERVAL_US);
        const closeAt = windowStart + BAR_INTERVAL_US + allowedLatenessUs;
        const late = out.late.length > lateBefore;
        const key = barKey(tick.symbol, windowStart);
        let list = result.windows.get(key);
        if (!list) result.windows.set(key, (list = []));
        const own = symbolMax.get(tick.symbol) ?? Number.NEGATIVE_INFINITY;
        list.push({
          tick,
          late,
          lowUs: own - outOfOrdernessUs - closeAt,
          highUs: maxTradeTs - outOfOrdernessUs - closeAt,
        });
        result.counts.trades++;
        if (late) result.counts.late++;
        if (tick.ts > maxTradeTs) maxTradeTs = tick.ts;
        if (tick.ts > own) symbolMax.set(tick.symbol, tick.ts);
      } else if (out.rejected.length === rejectedBefore) {
        result.counts.duplicates++;
      }
    }
    for (let i = barsBefore; i < out.bars.length; i++) {
      const bar = out.bars[i]!;
      result.bars.set(barKey(bar.symbol, bar.windowStart), bar);
    }
    // Only the bars and alerts are kept; the enriched ticks would hold a day in memory for nothing.
    out.enriched.length = 0;
    out.bars.length = 0;
    out.late.length = 0;
    out.rejected.length = 0;
  }
  return result;
}
