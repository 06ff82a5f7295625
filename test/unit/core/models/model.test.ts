import { describe, expect, it } from 'vitest';
import { barSeries } from '../../../../core/models/features.ts';
import { trainSymbol } from '../../../../core/models/fit.ts';
import { scoreBar, scoreSeries, StreamScorer } from '../../../../core/models/score.ts';
import { anomalyModelSchema } from '../../../../core/schemas/model.ts';
import { walkBars } from './fixtures.ts';

const bars = walkBars('ACME', 400);
const window = { fromUs: bars[0]!.windowStart, toUs: bars.at(-1)!.windowEnd };
const train = (b = bars, trainedAt = 1) => trainSymbol('ACME', b, { minBars: 120, ...window, trainedAt });

describe('anomaly model', () => {
  it('trains to a valid model whose version depends on the data, not on when it was trained', () => {
    const a = train(bars, 1);
    const b = train(walkBars('ACME', 400), 2_000_000);
    expect(a).not.toBeNull();
    expect(anomalyModelSchema.parse(a)).toEqual(a);
    expect(b!.version).toBe(a!.version);
    expect({ ...b, trainedAt: 1 }).toEqual(a);
    const other = train(walkBars('ACME', 400, 8));
    expect(other!.version).not.toBe(a!.version);
    const shorter = trainSymbol('ACME', bars, {
      minBars: 120,
      ...window,
      toUs: window.toUs - 60_000_000,
      trainedAt: 1,
    });
    expect(shorter!.version).not.toBe(a!.version);
  });

  it('records the fit: n, r², residual std, and ml-regression’s own JSON', () => {
    const m = train()!;
    for (const f of ['price', 'volume'] as const) {
      expect(m.metrics[f].n + m.metrics[f].trimmed).toBe(400);
      expect(m.metrics[f].residualStd).toBe(m.params[f].residualStd);
      expect(m.fit[f].name).toBe('multivariateLinearRegression');
    }
    // ln(volume) grows about one for one with ln(trades) in the fixture (volume = trades × size).
    expect(m.params.volume.coef[0]).toBeGreaterThan(0.6);
    expect(m.params.volume.coef[0]).toBeLessThan(1.4);
  });

  it('scores ordinary bars low and a known shock high, by the feature that moved', () => {
    const m = train()!;
    const rows = scoreSeries(m, bars, 8);
    expect(rows.filter((r) => r.flagged)).toEqual([]);
    const last = bars.at(-1)!;
    const next = walkBars('ACME', 1, 99, last.windowEnd)[0]!;
    const jump = { ...next, open: last.close, high: last.close * 1.1, close: last.close * 1.1 };
    const jumped = scoreBar(m, jump, last);
    expect(jumped.kind).toBe('price');
    expect(jumped.score).toBeGreaterThan(8);
    // A level shift at the bar's first trade: the bar itself is flat, the gap from the previous close is not.
    const gapped = { ...next, open: last.close * 1.1, high: last.close * 1.1002, low: last.close * 1.0999 };
    expect(scoreBar(m, gapped, last).score).toBeGreaterThan(8);
    expect(scoreBar(m, gapped, undefined).score).toBeLessThan(8);
    const spike = scoreBar(m, { ...next, volume: next.volume + 400_000 }, last);
    expect(spike.kind).toBe('volume');
    expect(spike.score).toBeGreaterThan(8);
  });

  it('gives a symbol with too little data no model', () => {
    expect(trainSymbol('ACME', bars.slice(0, 100), { minBars: 120, ...window, trainedAt: 1 })).toBeNull();
    expect(trainSymbol('OTHER', bars, { minBars: 120, ...window, trainedAt: 1 })).toBeNull();
    // Constant bars: no spread of residuals to scale a z-score by.
    const flat = bars.map((b) => ({ ...b, open: 10, high: 10, low: 10, close: 10, volume: 100, trades: 1 }));
    expect(trainSymbol('ACME', flat, { minBars: 120, ...window, trainedAt: 1 })).toBeNull();
  });

  it('streams the same scores as the batch path, and says when a symbol has no model', () => {
    const m = train()!;
    const unscored: string[] = [];
    const stream = new StreamScorer(
      (s) => (s === 'ACME' ? m : undefined),
      (s) => unscored.push(s),
    );
    const batch = scoreSeries(m, bars, 8);
    const live = bars.map((b) => stream.score(b));
    expect(live.map((s) => s!.score)).toEqual(batch.map((r) => r.score));
    // A revision of the latest bar is scored against the same predecessor as its first emission.
    const last = bars.at(-1)!;
    expect(stream.score({ ...last, revision: 1 })!.score).toBe(batch.at(-1)!.score);
    expect(stream.score({ ...bars[0]!, symbol: 'NOPE' })).toBeNull();
    expect(unscored).toEqual(['NOPE']);
  });

  it('keeps one bar per window, the latest revision, in window order', () => {
    const b = walkBars('ACME', 3);
    const s = barSeries([b[2]!, { ...b[0]!, revision: 2, close: 1 }, b[1]!, b[0]!]);
    expect(s.get('ACME')!.map((x) => [x.windowStart, x.revision])).toEqual([
      [b[0]!.windowStart, 2],
      [b[1]!.windowStart, 0],
      [b[2]!.windowStart, 0],
    ]);
  });
});
