import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRows } from '../../../activities/reconcile.ts';
import type { ReconciliationRow } from '../../../core/schemas/reconciliation.ts';
import { gaugeValues } from '../../../infra/reconciliation-metrics.ts';
import { readRows } from '../../../lake/reader.ts';
import type { FsStorage } from '../../../lake/storage/fs.ts';
import { reconciliationTable } from '../../../lake/tables.ts';
import { tempStorage } from './fixtures.ts';

const H = 3_600_000_000;
const T = Date.parse('2026-11-20T14:00:00Z') * 1000;

function row(table: 'bars' | 'alerts', hour: number, runTs: number, disagreement: number): ReconciliationRow {
  return {
    runId: `run-${runTs}`,
    runTs,
    table,
    partition: `dt=2026-11-20/hour=${14 + hour}`,
    windowStart: T + hour * H,
    windowEnd: T + (hour + 1) * H,
    batchRows: 10,
    streamRows: 10,
    matched: 10 - disagreement,
    late: 1,
    missingPartition: 0,
    disagreement,
    lateTicks: 2,
    examples: disagreement ? ['disagreement AAPL@1: volume 1 (batch) != 2 (stream)'] : [],
  };
}

let storage: FsStorage;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ storage, cleanup } = await tempStorage()));
afterAll(() => cleanup());

describe('the reconciliation lake table', () => {
  it('keeps the latest run of a range, even when an older run commits after it', async () => {
    const first = [row('bars', 0, T + 2 * H, 3), row('alerts', 0, T + 2 * H, 0)];
    const rerun = [row('bars', 0, T + 3 * H, 0), row('alerts', 0, T + 3 * H, 0)];
    await writeRows(storage, rerun, T + 3 * H);
    // A slower concurrent run with an earlier run time still lands (its offset moves past the committed one)...
    await writeRows(storage, first, T + 2 * H);
    // ...and a retried write of the same rows changes nothing readers see.
    await writeRows(storage, rerun, T + 3 * H);
    const rows: ReconciliationRow[] = [];
    for await (const p of readRows(storage, reconciliationTable, {})) rows.push(...p.rows);
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.runTs)).toEqual([T + 3 * H, T + 3 * H]);
    expect(rows.find((r) => r.table === 'bars')).toEqual(rerun[0]);
  });

  it('gives the gauges the latest counts per table', () => {
    const v = gaugeValues([row('bars', 0, T + 2 * H, 3), row('bars', 1, T + 3 * H, 1), row('alerts', 0, T, 0)]);
    expect(v).toEqual([
      {
        table: 'bars',
        counts: { late: 2, missing_partition: 0, disagreement: 4 },
        lastRunUs: T + 3 * H,
        untilUs: T + 2 * H,
      },
      { table: 'alerts', counts: { late: 1, missing_partition: 0, disagreement: 0 }, lastRunUs: T, untilUs: T + H },
    ]);
  });
});
