import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { trainSymbol } from '../../../core/models/fit.ts';
import { scoreSeries } from '../../../core/models/score.ts';
import { writeAnomalyDay } from '../../../lake/anomalies.ts';
import { modelKey, readLatestModels, readModelHistory, readModelsManifest, writeModels } from '../../../lake/models.ts';
import { planScan, readRows } from '../../../lake/reader.ts';
import { anomaliesTable } from '../../../lake/tables.ts';
import { walkBars } from '../core/models/fixtures.ts';
import { tempStorage } from './fixtures.ts';

const DAY = '2026-03-02';
const start = Date.UTC(2026, 2, 2, 9) * 1000;
const bars = walkBars('ACME', 300, 7, start);
const window = { fromUs: start, toUs: start + 300 * 60_000_000 };
let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => cleanup?.());

async function rowsOf(storage: Parameters<typeof readRows>[0]) {
  const out = [];
  for await (const p of readRows(storage, anomaliesTable, {})) out.push(...p.rows);
  return out;
}

describe('anomalies table and models in the lake', () => {
  it('replaces a day per run: the same rows are a no-op, a new model version replaces them', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const m1 = trainSymbol('ACME', bars, { minBars: 120, ...window, trainedAt: 1 })!;
    const m2 = trainSymbol('ACME', bars.slice(0, 250), { minBars: 120, ...window, trainedAt: 2 })!;
    expect(m2.version).not.toBe(m1.version);

    const first = await writeAnomalyDay(t.storage, DAY, scoreSeries(m1, bars, 8));
    expect(first).toMatchObject({ rows: 300, committed: 5, unchanged: 19 });
    expect(await writeAnomalyDay(t.storage, DAY, scoreSeries(m1, bars, 8))).toMatchObject({
      committed: 0,
      unchanged: 24,
    });
    const again = await rowsOf(t.storage);
    expect(again).toHaveLength(300);
    expect(new Set(again.map((r) => r.modelVersion))).toEqual(new Set([m1.version]));

    expect(await writeAnomalyDay(t.storage, DAY, scoreSeries(m2, bars, 8))).toMatchObject({ committed: 5 });
    const replaced = await rowsOf(t.storage);
    expect(replaced).toHaveLength(300);
    expect(new Set(replaced.map((r) => r.modelVersion))).toEqual(new Set([m2.version]));
    // One file per hour partition, never two.
    const plan = await planScan(t.storage, 'anomalies');
    expect(plan.files.map((f) => f.entry.partition)).toHaveLength(
      new Set(plan.files.map((f) => f.entry.partition)).size,
    );

    // Only the first hour's rows (as before): that hour is unchanged, the four hours left without rows are emptied.
    expect(await writeAnomalyDay(t.storage, DAY, scoreSeries(m2, bars.slice(0, 60), 8))).toMatchObject({
      committed: 4,
      unchanged: 20,
    });
    expect(await rowsOf(t.storage)).toHaveLength(60);
  });

  it('stores each model version once and moves the latest pointer only when a version changes', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const m1 = trainSymbol('ACME', bars, { minBars: 120, ...window, trainedAt: 1 })!;
    expect(await writeModels(t.storage, [m1], 10)).toEqual({ written: 1, changed: ['ACME'] });
    expect(await writeModels(t.storage, [{ ...m1, trainedAt: 99 }], 20)).toEqual({ written: 0, changed: [] });
    expect(await readModelsManifest(t.storage)).toEqual({ v: 1, updatedAt: 10, models: { ACME: m1.version } });
    // The first copy is kept: trainedAt is when the version was first made.
    expect((await readLatestModels(t.storage))[0]!.trainedAt).toBe(1);
  });

  it('history for a range: the version live at its start and those trained in it, not older or later ones', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const S = 1000;
    const models = [200, 230, 260, 290].map((n, i) =>
      trainSymbol('ACME', bars.slice(0, n), { minBars: 120, ...window, trainedAt: (i + 1) * 1000 * S })!,
    );
    for (const m of models) {
      await writeModels(t.storage, [m], m.trainedAt);
      // The object's write time is its training time, as when the worker writes it.
      const at = new Date(m.trainedAt);
      await utimes(join(t.dir, modelKey(m.symbol, m.version)), at, at);
    }
    // From 2,500 s to 3,500 s: the version of 2,000 s was live at the start, 3,000 s came in; 1,000 s was replaced
    // before the range and 4,000 s came after it.
    const history = await readModelHistory(t.storage, 2500 * S, 3500 * S);
    expect(history.get('ACME')!.map((m) => m.version)).toEqual([models[1]!.version, models[2]!.version]);
  });
});
