import { describe, expect, it } from 'vitest';
import { inWindow, labelKindOf, MATCH_WINDOWS, ruleQuality } from '../../../../core/alerts/quality.ts';
import type { Alert } from '../../../../core/schemas/alert.ts';
import type { SyntheticLabel } from '../../../../core/schemas/labels.ts';

const T0 = 1_772_452_800_000_000;
const S = 1_000_000;

function alert(rule: string, symbol: string, ts: number): Alert {
  return {
    v: 1,
    id: `${rule}:${symbol}:${ts}`,
    rule,
    symbol,
    severity: 'warning',
    ts,
    windowStart: ts,
    value: 1,
    threshold: 1,
    message: '',
    emittedTs: 0,
  };
}
function label(
  kind: SyntheticLabel['kind'],
  symbol: string,
  ts: number,
  detail: Record<string, unknown> = {},
): SyntheticLabel {
  return { kind, symbol, ts, detail };
}

describe('alert ↔ label matching', () => {
  it('same symbol and kind, alert time inside [label − before, label + after]', () => {
    const w = MATCH_WINDOWS.volume_spike;
    const l = label('volume_spike', 'AAPL', T0);
    expect(inWindow(T0, l, w)).toBe(true);
    expect(inWindow(T0 - w.beforeUs, l, w)).toBe(true);
    expect(inWindow(T0 - w.beforeUs - 1, l, w)).toBe(false);
    expect(inWindow(T0 + w.afterUs, l, w)).toBe(true);
    expect(inWindow(T0 + w.afterUs + 1, l, w)).toBe(false);
  });

  it('a stale feed label spans its whole silence, and nothing before it', () => {
    const l = label('stale_feed', 'AAPL', T0, { untilTs: T0 + 200 * S, durationUs: 200 * S });
    const w = MATCH_WINDOWS.stale_feed;
    expect(inWindow(T0 + 60 * S, l, w)).toBe(true);
    expect(inWindow(T0 + 200 * S + w.afterUs, l, w)).toBe(true);
    expect(inWindow(T0 + 206 * S, l, w)).toBe(false);
    expect(inWindow(T0 - 1, l, w)).toBe(false);
  });

  it('precision counts alerts in some label window, recall counts labels with an alert; other symbols, kinds and rules do not match', () => {
    const labels = [
      label('volume_spike', 'AAPL', T0),
      label('volume_spike', 'AAPL', T0 + 100 * S),
      label('volume_spike', 'MSFT', T0 + 300 * S),
      label('price_jump', 'NVDA', T0 + 400 * S),
    ];
    const alerts = [
      alert('vs', 'AAPL', T0 + 2 * S), // matches label 1
      alert('vs', 'AAPL', T0 + 3 * S), // label 1 again: a true alert, no extra recall
      alert('vs', 'MSFT', T0 + 2 * S), // wrong time for MSFT's label
      alert('vs', 'NVDA', T0 + 400 * S), // NVDA's label is a price jump
      alert('other', 'AAPL', T0 + 100 * S), // another rule's alert
    ];
    const q = ruleQuality({ id: 'vs', kind: 'volume_spike' }, alerts, labels);
    expect(q).toEqual({
      rule: 'vs',
      kind: 'volume_spike',
      label: 'volume_spike',
      alerts: 4,
      truePositives: 2,
      labels: 3,
      detected: 1,
      precision: 0.5,
      recall: 1 / 3,
    });
  });

  it('labels after labelsUntil are left out of recall, yet an alert on one is still true', () => {
    const labels = [label('spread_blowout', 'AAPL', T0), label('spread_blowout', 'AAPL', T0 + 600 * S)];
    const q = ruleQuality({ id: 'sb', kind: 'spread_blowout' }, [], labels, { labelsUntil: T0 + 60 * S });
    expect([q.labels, q.precision, q.recall]).toEqual([1, null, 0]);
    const late = ruleQuality({ id: 'sb', kind: 'spread_blowout' }, [alert('sb', 'AAPL', T0 + 600 * S)], labels, {
      labelsUntil: T0 + 60 * S,
    });
    expect([late.labels, late.detected, late.precision, late.recall]).toEqual([1, 0, 1, 0]);
  });

  it('a rule without alerts or labels has no precision or recall', () => {
    const labels = [label('spread_blowout', 'AAPL', T0)];
    const none = ruleQuality({ id: 'ms', kind: 'model_score' }, [alert('ms', 'AAPL', T0)], labels);
    expect([none.label, none.precision, none.recall]).toEqual([null, null, null]);
  });

  it('VWAP deviation is judged by price jumps; a source-wide stale rule by no label', () => {
    expect(labelKindOf({ kind: 'vwap_deviation' })).toBe('price_jump');
    expect(labelKindOf({ kind: 'stale_feed', scope: 'symbol' })).toBe('stale_feed');
    expect(labelKindOf({ kind: 'stale_feed', scope: 'source' })).toBeNull();
  });
});
