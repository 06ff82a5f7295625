import { describe, expect, it } from 'vitest';
import { trainSymbol } from '../../../../core/models/fit.ts';
import { historicalScorer, modelAt } from '../../../../core/models/score.ts';
import { walkBars } from './fixtures.ts';

// Reconciliation scores a past bar with the version the speed layer ran when the bar closed.
describe('historicalScorer', () => {
  const bars = walkBars('ACME', 400);
  const window = { fromUs: bars[0]!.windowStart, toUs: bars.at(-1)!.windowEnd };
  const closeMs = (i: number) => bars[i]!.windowEnd / 1000;
  const v1 = trainSymbol('ACME', bars.slice(0, 200), { minBars: 120, ...window, trainedAt: closeMs(249) })!;
  const v2 = trainSymbol('ACME', bars.slice(0, 300), { minBars: 120, ...window, trainedAt: closeMs(349) })!;

  it('picks the newest version trained at or before the time', () => {
    expect(v1.version).not.toBe(v2.version);
    expect(modelAt([v1, v2], closeMs(100))).toBeUndefined();
    expect(modelAt([v1, v2], closeMs(249))?.version).toBe(v1.version);
    expect(modelAt([v1, v2], closeMs(300))?.version).toBe(v1.version);
    expect(modelAt([v1, v2], closeMs(399))?.version).toBe(v2.version);
  });

  it('scores nothing before the first model, then each bar with the version live at its close', () => {
    const score = historicalScorer(new Map([['ACME', [v1, v2]]]));
    const versions = bars.map((b) => score(b)?.modelVersion ?? null);
    expect(versions.slice(0, 249).every((v) => v === null)).toBe(true);
    expect(new Set(versions.slice(249, 349))).toEqual(new Set([v1.version]));
    expect(new Set(versions.slice(349))).toEqual(new Set([v2.version]));
    expect(historicalScorer(new Map())(bars[300]!)).toBeNull();
  });
});
