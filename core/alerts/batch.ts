import type { Alert } from '../schemas/alert.ts';
import type { Bar } from '../schemas/bar.ts';
import type { EnrichedTick } from '../schemas/enriched.ts';
import { AlertEngine, type AlertEngineOptions } from './engine.ts';
import type { ResolvedRule } from './rules.ts';

/**
 * The batch path's alerts: the same engine over rows read back from the lake (enriched ticks and bars), for the
 * reconciliation to compare with what the stream raised. One engine over all symbols, events in event-time order
 * (ticks by ts, then seq; a bar once the ticks have reached its window's end); so a symbol's ticks are in the
 * order the stream saw them except where the stream itself saw them out of order. The lake has no heartbeats: the
 * watermark comes from every symbol's ticks together, which is what the heartbeats carried (the source's reached
 * event time), so a silence is found with the same id (rule, symbol, last tick) though possibly at a slightly
 * different detection time `ts`.
 */
export function recomputeAlerts(
  rules: readonly ResolvedRule[],
  input: { ticks: readonly EnrichedTick[]; bars?: readonly Bar[] },
  options: AlertEngineOptions,
): Alert[] {
  const engine = new AlertEngine(rules, options);
  const ticks = [...input.ticks].sort((a, b) => a.ts - b.ts || a.seq - b.seq || cmp(a.symbol, b.symbol));
  const bars = [...(input.bars ?? [])].sort(
    (a, b) => a.windowEnd - b.windowEnd || cmp(a.symbol, b.symbol) || a.revision - b.revision,
  );
  const out: Alert[] = [];
  let b = 0;
  for (const t of ticks) {
    while (b < bars.length && (bars[b] as Bar).windowEnd <= t.ts) out.push(...engine.onBar(bars[b++] as Bar));
    out.push(...engine.onTick(t));
  }
  while (b < bars.length) out.push(...engine.onBar(bars[b++] as Bar));
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
