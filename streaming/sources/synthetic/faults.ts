import type { DlqReason } from '../../../core/schemas/dlq.ts';
import type { Tick } from '../../../core/schemas/tick.ts';
import type { SeededRandom } from '../../../core/seeded-random.ts';
import type { AnomalyKind, AnomalyOptions, MalformedVariant } from './options.ts';

/**
 * Which fault to inject at a generation step, and the malformed payloads. The planner draws from its own seeded
 * stream, so turning faults on or off never changes the market's price path (only the records it touches).
 */

const OPTION_KEY: Record<AnomalyKind, keyof AnomalyOptions> = {
  price_jump: 'priceJump',
  volume_spike: 'volumeSpike',
  spread_blowout: 'spreadBlowout',
  stale_feed: 'staleFeed',
  duplicate: 'duplicate',
  out_of_order: 'outOfOrder',
  late: 'late',
  malformed: 'malformed',
};

export class FaultPlanner {
  private readonly active: AnomalyKind[];
  /** Per kind, the ascending steps at which a counted fault is due, and how many have been used. */
  private readonly schedule = new Map<AnomalyKind, { steps: number[]; next: number }>();
  /** Running sums of the active kinds' rates, and their total (at most 1). */
  private readonly cumulative: number[] = [];
  private readonly totalRate: number;

  constructor(
    private readonly options: AnomalyOptions,
    private readonly rng: SeededRandom,
    maxTicks: number | undefined,
  ) {
    this.active = (Object.keys(OPTION_KEY) as AnomalyKind[]).filter((k) => {
      const t = options[OPTION_KEY[k]];
      return t.rate > 0 || t.count > 0;
    });
    let sum = 0;
    for (const kind of this.active) this.cumulative.push((sum += options[OPTION_KEY[kind]].rate));
    if (sum > 1) throw new RangeError(`anomaly rates add up to ${sum}, more than 1 per tick`);
    this.totalRate = sum;
    // Counted faults land at distinct random steps in the first 90 % of the run, leaving room for held ticks.
    const horizon = Math.max(2, Math.floor((maxTicks ?? 0) * 0.9));
    for (const kind of this.active) {
      const count = options[OPTION_KEY[kind]].count;
      if (count === 0) continue;
      const steps = new Set<number>();
      while (steps.size < Math.min(count, horizon - 1)) steps.add(1 + rng.int(horizon - 1));
      this.schedule.set(kind, { steps: [...steps].sort((a, b) => a - b), next: 0 });
    }
  }

  get enabled(): boolean {
    return this.active.length > 0;
  }

  /** The fault for this step (at most one), given which kinds can apply to the tick at hand. */
  decide(step: number, applies: (kind: AnomalyKind) => boolean): AnomalyKind | null {
    for (const kind of this.active) {
      const s = this.schedule.get(kind);
      if (s !== undefined && s.next < s.steps.length && (s.steps[s.next] as number) <= step && applies(kind)) {
        s.next++;
        return kind;
      }
    }
    if (this.totalRate === 0) return null;
    // One draw per step: the kinds' rates are disjoint slices of [0, 1).
    const u = this.rng.uniform();
    if (u >= this.totalRate) return null;
    let k = 0;
    while (u >= (this.cumulative[k] as number)) k++;
    const kind = this.active[k] as AnomalyKind;
    return applies(kind) ? kind : null;
  }

  /** Uniform in [min, max] of a kind's range option. */
  between(range: { min: number; max: number }): number {
    return range.min + this.rng.uniform() * (range.max - range.min);
  }

  sign(): 1 | -1 {
    return this.rng.uniform() < 0.5 ? -1 : 1;
  }

  variant(): MalformedVariant {
    return this.rng.pick(this.options.malformed.variants);
  }

  int(n: number): number {
    return this.rng.int(n);
  }
}

/** The DLQ reason core/validate.ts gives each variant; in the label as a hint for judging the processor. */
export const MALFORMED_DLQ_REASON: Record<MalformedVariant, DlqReason> = {
  invalid_json: 'invalid_json',
  nan_price: 'schema_violation',
  negative_price: 'price_out_of_range',
  missing_fields: 'schema_violation',
  empty_symbol: 'schema_violation',
  oversized: 'payload_too_large',
};

/** Variants that corrupt a trade's price need a trade. */
export function variantNeedsTrade(v: MalformedVariant): boolean {
  return v === 'nan_price' || v === 'negative_price';
}

/**
 * The bytes of a malformed record made from `tick`. Every variant keeps the tick's `"id":"…"` text intact, so a
 * dead-lettered record can be matched to its label by id. `cutAt` ∈ [0, 1) picks where invalid JSON is truncated.
 */
export function malformedValue(tick: Tick, variant: MalformedVariant, cutAt: number, oversizedBytes: number): string {
  const fields: Record<string, unknown> = { ...tick };
  switch (variant) {
    case 'invalid_json': {
      const json = JSON.stringify(tick);
      const idEnd = json.indexOf('"', json.indexOf('"id":"') + 6) + 1;
      // Cut somewhere after the id and before the closing brace: the object is never closed, so never valid JSON.
      const cut = idEnd + Math.floor(cutAt * (json.length - 1 - idEnd));
      return json.slice(0, cut);
    }
    case 'nan_price':
      fields.price = 'NaN';
      break;
    case 'negative_price':
      if (tick.type === 'trade') fields.price = -tick.price;
      break;
    case 'missing_fields':
      for (const f of tick.type === 'trade' ? ['price', 'size'] : ['bid', 'ask']) delete fields[f];
      break;
    case 'empty_symbol':
      fields.symbol = '';
      break;
    case 'oversized': {
      // Still a valid tick (unknown keys are ignored): only its size is wrong.
      const head = `${JSON.stringify(tick).slice(0, -1)},"pad":"`;
      return `${head}${'x'.repeat(Math.max(0, oversizedBytes - head.length - 2))}"}`;
    }
  }
  return JSON.stringify(fields);
}
