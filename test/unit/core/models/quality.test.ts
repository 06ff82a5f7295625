import { describe, expect, it } from 'vitest';
import { f1, modelQuality } from '../../../../core/models/quality.ts';
import type { SyntheticLabel } from '../../../../core/schemas/labels.ts';
import type { AnomalyRow } from '../../../../core/schemas/model.ts';

const T0 = Date.UTC(2026, 2, 2, 12) * 1000;
const row = (symbol: string, minute: number, priceZ: number, volumeZ: number): AnomalyRow => ({
  symbol,
  windowStart: T0 + minute * 60_000_000,
  score: Math.max(priceZ, volumeZ),
  priceZ,
  volumeZ,
  kind: priceZ >= volumeZ ? 'price' : 'volume',
  modelVersion: 'm1-0000000000000000',
  flagged: Math.max(priceZ, volumeZ) >= 8,
  revision: 0,
});
const label = (kind: SyntheticLabel['kind'], symbol: string, atUs: number): SyntheticLabel => ({
  kind,
  symbol,
  ts: atUs,
  detail: {},
});

describe('model quality per feature', () => {
  it('matches a flagged feature to a label of its kind inside the bar, each feature on its own', () => {
    const rows = [
      row('A', 0, 12, 1), // the jump at 00:30 of this bar
      row('A', 1, 9, 10), // both: a jump and a spike in one bar, each detected
      row('B', 0, 1, 9), // a volume flag without a label: a false positive
      row('B', 1, 2, 1),
    ];
    const labels = [
      label('price_jump', 'A', T0 + 30_000_000),
      label('price_jump', 'A', T0 + 70_000_000),
      label('volume_spike', 'A', T0 + 80_000_000),
      label('volume_spike', 'B', T0 + 90_000_000), // in B's unflagged bar: missed
      label('price_jump', 'B', T0 + 10 * 60_000_000), // after labelsUntil: not judged
    ];
    const [price, volume] = modelQuality(rows, labels, 8, { labelsUntil: T0 + 5 * 60_000_000 });
    expect(price).toMatchObject({ flagged: 2, truePositives: 2, labels: 2, detected: 2, precision: 1, recall: 1 });
    expect(volume).toMatchObject({ flagged: 2, truePositives: 1, labels: 2, detected: 1, precision: 0.5, recall: 0.5 });
    expect(f1(0.5, 0.5)).toBe(0.5);
    expect(f1(null, 1)).toBeNull();
  });
});
