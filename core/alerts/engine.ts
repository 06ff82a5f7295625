import { z } from 'zod';
import { TickLakeError } from '../errors.ts';
import { ALERT_SCHEMA_VERSION, SOURCE_WIDE_SYMBOL, alertId, type Alert } from '../schemas/alert.ts';
import type { Bar } from '../schemas/bar.ts';
import type { EnrichedTick } from '../schemas/enriched.ts';
import type { Heartbeat } from '../schemas/heartbeat.ts';
import {
  type Candidate,
  evalPriceMove,
  evalSpreadBlowout,
  evalVolumeSpike,
  evalVwapDeviation,
  ewmaWeight,
  newPriceMoveState,
  newSpreadBlowoutState,
  newVolumeSpikeState,
  newVwapDeviationState,
  priceMoveStateSchema,
  resetPriceMove,
  spreadBlowoutStateSchema,
  volumeSpikeStateSchema,
  vwapDeviationStateSchema,
} from './evaluators.ts';
import type { ResolvedRule, RuleOf } from './rules.ts';

/**
 * The speed layer's rules over one Kafka partition's events (key = symbol, so every symbol's events arrive here
 * in log order), shared by the stream process and the batch recomputation. Pure and deterministic: every decision
 * is made in event time (tick `ts`, heartbeat `ts`), never wall time; wall time enters only as `emittedTs`, from
 * the injected clock. Same events in the same order from the same snapshot → the same alerts with the same ids.
 *
 * Inputs: enriched ticks (price move, volume spike, spread blowout, VWAP deviation: judged per tick, for latency),
 * closed bars (model score), heartbeats or any watermark advance (stale feed). The partition's watermark is the
 * highest event time seen in it, ticks and heartbeats alike; ingest sends heartbeats to every partition, so a
 * quiet partition still advances and its silent symbols are judged. Stale checks run each time the watermark
 * crosses a whole `staleCheckIntervalUs` of event time, so their timing replays exactly too.
 */

/** A model's verdict on a closed bar; deterministic for a given bar, so the batch path reproduces it. */
export interface ModelScore {
  score: number;
  modelVersion: string;
}
/** The models issue registers these by name; a `model_score` rule names one. null: no score for this bar. */
export type ModelScorer = (bar: Bar) => ModelScore | null;

export interface AlertEngineOptions {
  /** Wall time in µs for `emittedTs` only (the batch path passes a fixed or event-derived clock). */
  now: () => number;
  scorers?: Readonly<Record<string, ModelScorer>>;
  /**
   * Whether this engine reports source-wide silence for `source`. Every partition sees every source's heartbeats,
   * so without an owner each partition would report the same silence; the stream process gives each source to one
   * partition (ownsSource below). Default: every source (one engine over everything, as in the batch path).
   */
  ownsSource?: (source: string) => boolean;
  staleCheckIntervalUs?: number;
}

/** Deterministic owner of a source among `partitions` engines: FNV-1a of the name, mod the partition count. */
export function sourceOwner(source: string, partitions: number): number {
  return fnv1a(source) % partitions;
}

export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

const STALE_CHECK_INTERVAL_US = 1_000_000;
/**
 * A gap this long in a source's own event time (ticks and heartbeats) is an outage of the source: its symbols'
 * silence is then counted from when it came back, so one source-wide alert speaks for it, not one per symbol.
 * Heartbeats come about once a second, so a live source never leaves such a gap.
 */
const SOURCE_OUTAGE_US = 10_000_000;
/** Half-life, in ticks, of a symbol's mean gap between ticks (for the stale rule's gapMultiple). */
const GAP_HALF_LIFE = 50;

const ruleStateSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('price_move'), symbols: z.array(z.tuple([z.string(), priceMoveStateSchema])) }),
  z.object({ kind: z.literal('volume_spike'), symbols: z.array(z.tuple([z.string(), volumeSpikeStateSchema])) }),
  z.object({ kind: z.literal('spread_blowout'), symbols: z.array(z.tuple([z.string(), spreadBlowoutStateSchema])) }),
  z.object({ kind: z.literal('vwap_deviation'), symbols: z.array(z.tuple([z.string(), vwapDeviationStateSchema])) }),
  /** Per symbol (or source): the last tick time whose silence was already reported. */
  z.object({ kind: z.literal('stale_feed'), symbols: z.array(z.tuple([z.string(), z.number()])) }),
  /** Per symbol: the last bar window that fired (a bar's later revisions must not fire it again). */
  z.object({ kind: z.literal('model_score'), symbols: z.array(z.tuple([z.string(), z.number()])) }),
]);

export const alertEngineSnapshotSchema = z.object({
  v: z.literal(1),
  watermark: z.number().nullable(),
  nextCheckUs: z.number().nullable(),
  /** symbol → [source, last tick ts, mean gap µs or null, gaps seen]. */
  symbols: z.array(z.tuple([z.string(), z.tuple([z.string(), z.number(), z.number().nullable(), z.number().int()])])),
  /** source → last event time seen from it (ticks and heartbeats). */
  sources: z.array(z.tuple([z.string(), z.number()])),
  /** source → [last event time before its latest outage, when it came back] (SOURCE_OUTAGE_US). */
  outages: z.array(z.tuple([z.string(), z.tuple([z.number(), z.number()])])).default([]),
  rules: z.array(
    z.object({
      id: z.string(),
      /** symbol → event time of its last alert from this rule. */
      cooldown: z.array(z.tuple([z.string(), z.number()])),
      state: ruleStateSchema,
    }),
  ),
});
export type AlertEngineSnapshot = z.infer<typeof alertEngineSnapshotSchema>;

interface SymbolInfo {
  source: string;
  lastTs: number;
  gapUs: number | null;
  gaps: number;
}

interface RuleRuntime {
  rule: ResolvedRule;
  only: ReadonlySet<string> | null;
  cooldown: Map<string, number>;
  // One state type per kind; the evaluators know which.
  state: Map<string, unknown>;
}

export interface AlertEngineStats {
  fired: Record<string, number>;
  /** Alerts a rule decided on but its cooldown held back. */
  suppressed: Record<string, number>;
  /** Bars a model-score rule's scorer threw on (no alert; the bar is skipped). */
  scorerErrors: Record<string, number>;
}

export class AlertEngine {
  private rules: RuleRuntime[] = [];
  private wm = Number.NEGATIVE_INFINITY;
  private nextCheckUs: number | null = null;
  private readonly symbols = new Map<string, SymbolInfo>();
  private readonly sources = new Map<string, number>();
  private readonly outages = new Map<string, { from: number; to: number }>();
  private readonly checkUs: number;
  private readonly counters: AlertEngineStats = { fired: {}, suppressed: {}, scorerErrors: {} };

  constructor(
    rules: readonly ResolvedRule[],
    private readonly options: AlertEngineOptions,
  ) {
    this.checkUs = options.staleCheckIntervalUs ?? STALE_CHECK_INTERVAL_US;
    this.setRules(rules);
  }

  get watermark(): number | null {
    return this.wm === Number.NEGATIVE_INFINITY ? null : this.wm;
  }

  get activeRules(): readonly ResolvedRule[] {
    return this.rules.map((r) => r.rule);
  }

  stats(): AlertEngineStats {
    const c = this.counters;
    return { fired: { ...c.fired }, suppressed: { ...c.suppressed }, scorerErrors: { ...c.scorerErrors } };
  }

  /**
   * Swaps the rules. A rule that keeps its id and kind keeps its per-symbol state (baselines, windows, cooldowns)
   * under its new parameters; a new rule starts fresh; a removed one's state goes. Throws CONFIG_INVALID, changing
   * nothing, if an enabled model-score rule names a scorer nobody registered.
   */
  setRules(rules: readonly ResolvedRule[]): void {
    for (const r of rules) {
      if (r.kind === 'model_score' && this.options.scorers?.[r.scorer] === undefined) {
        const known = Object.keys(this.options.scorers ?? {});
        throw new TickLakeError(
          'CONFIG_INVALID',
          `rule ${r.id}: scorer ${JSON.stringify(r.scorer)} is not registered (known: ${known.join(', ') || 'none'})`,
        );
      }
    }
    const old = new Map(this.rules.map((r) => [r.rule.id, r]));
    this.rules = rules.map((rule) => {
      const prev = old.get(rule.id);
      const keep = prev !== undefined && prev.rule.kind === rule.kind;
      return {
        rule,
        only: rule.symbols ? new Set(rule.symbols) : null,
        cooldown: keep ? prev.cooldown : new Map(),
        state: keep ? prev.state : new Map(),
      };
    });
  }

  onTick(t: EnrichedTick): Alert[] {
    const out: Alert[] = [];
    // The watermark moves first, so a symbol that resumes after a silence nobody judged yet is judged on the
    // time it was silent.
    this.sourceSeen(t.source, t.ts);
    this.advance(t.ts, out);
    this.touchSymbol(t);
    for (const r of this.rules) {
      if (r.only !== null && !r.only.has(t.symbol)) continue;
      const c = this.evalTick(r, t);
      if (c !== null && this.fire(r, t.symbol, c, t.source, null, out) && r.rule.kind === 'price_move') {
        resetPriceMove(r.state.get(t.symbol) as ReturnType<typeof newPriceMoveState>);
      }
    }
    return out;
  }

  onBar(b: Bar): Alert[] {
    const out: Alert[] = [];
    for (const r of this.rules) {
      if (r.rule.kind !== 'model_score' || (r.only !== null && !r.only.has(b.symbol))) continue;
      if (r.state.get(b.symbol) === b.windowStart) continue;
      const rule = r.rule as RuleOf<'model_score'>;
      let scored: ModelScore | null;
      try {
        scored = (this.options.scorers?.[rule.scorer] as ModelScorer)(b);
      } catch {
        // A scorer's bug must not stop the other rules or the stream; it is counted for the edge to report.
        this.counters.scorerErrors[rule.id] = (this.counters.scorerErrors[rule.id] ?? 0) + 1;
        continue;
      }
      if (scored === null || !(scored.score >= rule.threshold)) continue;
      const c: Candidate = {
        ts: b.lastTs,
        windowStart: b.windowStart,
        value: scored.score,
        threshold: rule.threshold,
        message: `${b.symbol} bar ${new Date(b.windowStart / 1000).toISOString()} scored ${scored.score.toFixed(3)} by ${rule.scorer} ${scored.modelVersion} (threshold ${rule.threshold})`,
      };
      if (this.fire(r, b.symbol, c, null, scored.modelVersion, out)) r.state.set(b.symbol, b.windowStart);
    }
    return out;
  }

  /** A heartbeat says its source has reached `ts`: the source is alive, and the partition's time moves on. */
  onHeartbeat(h: Pick<Heartbeat, 'source' | 'ts'>): Alert[] {
    this.sourceSeen(h.source, h.ts);
    return this.advanceWatermark(h.ts);
  }

  /** Moves event time on without a tick (e.g. the bar aggregator's watermark); never backwards. */
  advanceWatermark(ts: number): Alert[] {
    const out: Alert[] = [];
    this.advance(ts, out);
    return out;
  }

  snapshot(): AlertEngineSnapshot {
    return {
      v: 1,
      watermark: this.watermark,
      nextCheckUs: this.nextCheckUs,
      symbols: [...this.symbols].map(([s, i]) => [s, [i.source, i.lastTs, i.gapUs, i.gaps]]),
      sources: [...this.sources],
      outages: [...this.outages].map(([src, o]) => [src, [o.from, o.to]]),
      rules: this.rules.map((r) => ({
        id: r.rule.id,
        cooldown: [...r.cooldown],
        // Deep copies through JSON: the snapshot must not alias live state the engine keeps mutating.
        state: { kind: r.rule.kind, symbols: JSON.parse(JSON.stringify([...r.state])) },
      })) as AlertEngineSnapshot['rules'],
    };
  }

  /** Replaces all state with a snapshot's (unknown JSON, parsed first); state of rules no longer present is dropped. */
  restore(snapshot: unknown): void {
    const s = alertEngineSnapshotSchema.parse(snapshot);
    this.wm = s.watermark ?? Number.NEGATIVE_INFINITY;
    this.nextCheckUs = s.nextCheckUs;
    this.symbols.clear();
    for (const [sym, [source, lastTs, gapUs, gaps]] of s.symbols)
      this.symbols.set(sym, { source, lastTs, gapUs, gaps });
    this.sources.clear();
    for (const [src, ts] of s.sources) this.sources.set(src, ts);
    this.outages.clear();
    for (const [src, [from, to]] of s.outages) this.outages.set(src, { from, to });
    const byId = new Map(s.rules.map((r) => [r.id, r]));
    for (const r of this.rules) {
      const saved = byId.get(r.rule.id);
      const keep = saved !== undefined && saved.state.kind === r.rule.kind;
      r.cooldown = new Map(keep ? saved.cooldown : []);
      r.state = new Map<string, unknown>(keep ? (saved.state.symbols as [string, unknown][]) : []);
    }
  }

  private touchSymbol(t: EnrichedTick): void {
    const info = this.symbols.get(t.symbol);
    if (info === undefined) {
      this.symbols.set(t.symbol, { source: t.source, lastTs: t.ts, gapUs: null, gaps: 0 });
    } else if (t.ts > info.lastTs) {
      const gap = t.ts - info.lastTs;
      info.gaps++;
      info.gapUs = info.gapUs === null ? gap : info.gapUs + ewmaWeight(GAP_HALF_LIFE, info.gaps) * (gap - info.gapUs);
      info.lastTs = t.ts;
      info.source = t.source;
    }
  }

  /** The source has reached `ts`; a jump of SOURCE_OUTAGE_US or more past its last time is recorded as an outage. */
  private sourceSeen(source: string, ts: number): void {
    const last = this.sources.get(source);
    if (last !== undefined && ts - last >= SOURCE_OUTAGE_US) this.outages.set(source, { from: last, to: ts });
    if (last === undefined || ts > last) this.sources.set(source, ts);
  }

  private evalTick(r: RuleRuntime, t: EnrichedTick): Candidate | null {
    switch (r.rule.kind) {
      case 'price_move':
        return evalPriceMove(r.rule, this.stateOf(r, t.symbol, newPriceMoveState), t);
      case 'volume_spike':
        return evalVolumeSpike(r.rule, this.stateOf(r, t.symbol, newVolumeSpikeState), t);
      case 'spread_blowout':
        return evalSpreadBlowout(r.rule, this.stateOf(r, t.symbol, newSpreadBlowoutState), t);
      case 'vwap_deviation':
        return evalVwapDeviation(r.rule, this.stateOf(r, t.symbol, newVwapDeviationState), t);
      default:
        return null;
    }
  }

  private stateOf<S>(r: RuleRuntime, symbol: string, init: () => S): S {
    let s = r.state.get(symbol) as S | undefined;
    if (s === undefined) r.state.set(symbol, (s = init()));
    return s;
  }

  private advance(ts: number, out: Alert[]): void {
    if (ts <= this.wm) return;
    this.wm = ts;
    if (this.nextCheckUs === null) this.nextCheckUs = this.nextBoundary(ts);
    if (ts < this.nextCheckUs) return;
    this.nextCheckUs = this.nextBoundary(ts);
    for (const r of this.rules) if (r.rule.kind === 'stale_feed') this.checkStale(r, r.rule, out);
  }

  private nextBoundary(ts: number): number {
    return (Math.floor(ts / this.checkUs) + 1) * this.checkUs;
  }

  private checkStale(r: RuleRuntime, rule: RuleOf<'stale_feed'>, out: Alert[]): void {
    const silenceUs = rule.silenceSec * 1e6;
    if (rule.scope === 'source') {
      const owns = this.options.ownsSource ?? (() => true);
      for (const [source, latest] of this.sources) {
        if (!owns(source)) continue;
        // Silent now (other sources move the watermark), or silent until it just came back (its outage).
        const outage = this.outages.get(source);
        const lastTs = this.wm - latest >= silenceUs || outage === undefined ? latest : outage.from;
        const until = lastTs === latest ? this.wm : outage!.to;
        if (r.state.get(source) === lastTs) continue;
        const silent = until - lastTs;
        if (silent < silenceUs) continue;
        const c = staleCandidate(`source ${source}`, lastTs, this.wm, silent, silenceUs);
        if (this.fire(r, SOURCE_WIDE_SYMBOL, c, source, null, out, source)) r.state.set(source, lastTs);
      }
      return;
    }
    for (const [symbol, info] of this.symbols) {
      if (r.only !== null && !r.only.has(symbol)) continue;
      if (r.state.get(symbol) === info.lastTs) continue;
      const limit = Math.max(silenceUs, rule.gapMultiple * (info.gapUs ?? 0));
      // A symbol is silent only while its source is not: after the source's outage, count from its return.
      const outage = this.outages.get(info.source);
      const since = outage !== undefined && outage.to > info.lastTs ? outage.to : info.lastTs;
      const silent = this.wm - since;
      if (silent < limit) continue;
      if (this.fire(r, symbol, staleCandidate(symbol, info.lastTs, this.wm, silent, limit), info.source, null, out)) {
        r.state.set(symbol, info.lastTs);
      }
    }
  }

  /** Applies the rule's cooldown and, if it passes, appends the alert; true if it fired. */
  private fire(
    r: RuleRuntime,
    symbol: string,
    c: Candidate,
    source: string | null,
    modelVersion: string | null,
    out: Alert[],
    cooldownKey: string = symbol,
  ): boolean {
    const rule = r.rule;
    const last = r.cooldown.get(cooldownKey);
    // Either side of the last alert: an out-of-order tick just before it is the same episode too.
    if (last !== undefined && Math.abs(c.ts - last) < rule.cooldownUs) {
      this.counters.suppressed[rule.id] = (this.counters.suppressed[rule.id] ?? 0) + 1;
      return false;
    }
    r.cooldown.set(cooldownKey, Math.max(c.ts, last ?? c.ts));
    this.counters.fired[rule.id] = (this.counters.fired[rule.id] ?? 0) + 1;
    const critical = rule.criticalAt !== undefined && Math.abs(c.value) >= rule.criticalAt;
    out.push({
      v: ALERT_SCHEMA_VERSION,
      id: alertId(
        rule.id,
        source !== null && symbol === SOURCE_WIDE_SYMBOL ? `${symbol}${source}` : symbol,
        c.windowStart,
      ),
      rule: rule.id,
      symbol,
      severity: critical ? 'critical' : rule.severity,
      ts: c.ts,
      windowStart: c.windowStart,
      value: c.value,
      threshold: c.threshold,
      message: c.message,
      emittedTs: this.options.now(),
      source,
      modelVersion,
    });
    return true;
  }
}

function staleCandidate(what: string, lastTs: number, wm: number, silentUs: number, limitUs: number): Candidate {
  return {
    ts: wm,
    windowStart: lastTs,
    value: Math.round(silentUs / 1000) / 1000,
    threshold: Math.round(limitUs / 1000) / 1000,
    message: `${what}: no ticks for ${(silentUs / 1e6).toFixed(0)}s of event time (since ${new Date(lastTs / 1000).toISOString()}; threshold ${(limitUs / 1e6).toFixed(0)}s)`,
  };
}
