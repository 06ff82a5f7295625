import type { Alert } from '../schemas/alert.ts';
import type { AnomalyKind, SyntheticLabel } from '../schemas/labels.ts';
import type { RuleKind } from './rules.ts';

/**
 * Alert quality against the synthetic market's labels. Matching: an alert and a label match when they have the
 * same symbol, the rule's kind judges the label's kind (RULE_LABEL), and the alert's event time `ts` falls in the
 * label's window: [label.ts − before, end + after], where end is the label's `ts`, or for a stale feed the end of
 * the silence (`detail.untilTs`). An alert inside some matching label's window is a true positive (precision);
 * a label with at least one matching alert of the rule is detected (recall). Several alerts on one label count
 * as true once each, which the cooldown keeps rare; the report shows alerts and labels so it can be seen.
 * `labelsUntil` leaves labels too close to the end of a run for their alert to be due (a silence that began
 * 30 s before the end cannot have been silent for 60 s) out of recall; an alert that matches one is still true.
 */
export const RULE_LABEL: Record<RuleKind, AnomalyKind | null> = {
  price_move: 'price_jump',
  volume_spike: 'volume_spike',
  spread_blowout: 'spread_blowout',
  // VWAP deviation has no label of its own; a labelled jump is what moves a price far from its VWAP in minutes.
  vwap_deviation: 'price_jump',
  stale_feed: 'stale_feed',
  model_score: null,
};

/** The label kind a rule is judged by; a source-wide stale rule has none (the market labels symbols only). */
export function labelKindOf(rule: { kind: RuleKind; scope?: string }): AnomalyKind | null {
  return rule.kind === 'stale_feed' && rule.scope === 'source' ? null : RULE_LABEL[rule.kind];
}

export interface MatchWindow {
  beforeUs: number;
  afterUs: number;
}

/**
 * How far an alert may sit from its label. Tick rules fire on the labelled tick itself (before allows for a
 * neighbour with the same time); a price move may complete on a later trade; a VWAP deviation grows for minutes;
 * a stale feed is reported during the silence, `silenceSec` after it starts.
 */
export const MATCH_WINDOWS: Record<RuleKind, MatchWindow> = {
  price_move: { beforeUs: 1_000_000, afterUs: 60_000_000 },
  volume_spike: { beforeUs: 1_000_000, afterUs: 5_000_000 },
  spread_blowout: { beforeUs: 1_000_000, afterUs: 5_000_000 },
  vwap_deviation: { beforeUs: 1_000_000, afterUs: 300_000_000 },
  stale_feed: { beforeUs: 0, afterUs: 5_000_000 },
  model_score: { beforeUs: 0, afterUs: 0 },
};

export interface RuleQuality {
  rule: string;
  kind: RuleKind;
  label: AnomalyKind | null;
  alerts: number;
  truePositives: number;
  labels: number;
  detected: number;
  /** null when the rule raised nothing (or has no labels to judge it by). */
  precision: number | null;
  recall: number | null;
}

function labelEnd(label: SyntheticLabel): number {
  const until = label.detail.untilTs;
  return label.kind === 'stale_feed' && typeof until === 'number' ? until : label.ts;
}

export function inWindow(alertTs: number, label: SyntheticLabel, w: MatchWindow): boolean {
  return alertTs >= label.ts - w.beforeUs && alertTs <= labelEnd(label) + w.afterUs;
}

/** Quality of one rule's alerts against all labels (the rule's own alerts only: filter by `alert.rule` first). */
export function ruleQuality(
  rule: { id: string; kind: RuleKind; scope?: string },
  alerts: readonly Alert[],
  labels: readonly SyntheticLabel[],
  opts: { window?: MatchWindow; labelsUntil?: number } = {},
): RuleQuality {
  const window = opts.window ?? MATCH_WINDOWS[rule.kind];
  const kind = labelKindOf(rule);
  const mine = alerts.filter((a) => a.rule === rule.id);
  const until = opts.labelsUntil ?? Number.POSITIVE_INFINITY;
  const relevant = kind === null ? [] : labels.filter((l) => l.kind === kind);
  const bySymbol = new Map<string, SyntheticLabel[]>();
  for (const l of relevant) {
    const list = bySymbol.get(l.symbol);
    if (list === undefined) bySymbol.set(l.symbol, [l]);
    else list.push(l);
  }
  const detected = new Set<SyntheticLabel>();
  let truePositives = 0;
  for (const a of mine) {
    let hit = false;
    for (const l of bySymbol.get(a.symbol) ?? []) {
      if (!inWindow(a.ts, l, window)) continue;
      hit = true;
      if (l.ts <= until) detected.add(l);
    }
    if (hit) truePositives++;
  }
  const judged = relevant.filter((l) => l.ts <= until).length;
  return {
    rule: rule.id,
    kind: rule.kind,
    label: kind,
    alerts: mine.length,
    truePositives,
    labels: judged,
    detected: detected.size,
    precision: kind === null || mine.length === 0 ? null : truePositives / mine.length,
    recall: judged === 0 ? null : detected.size / judged,
  };
}
