import { describe, expect, it } from 'vitest';
import { TABLES } from '../../../lake/tables.ts';
import { WAREHOUSE_TABLES } from '../../../warehouse/tables.ts';
import {
  LAKE_TABLES,
  partitionParts,
  searchAttributeFlags,
  tableNames,
  WAREHOUSE_TABLE_OF,
  WORKFLOW_IDS,
} from '../../../workflows/constants.ts';
import * as workflows from '../../../workflows/index.ts';
import { batchSchedules, SCHEDULE_PREFIX } from '../../../workflows/schedules.ts';

describe('the batch layer catalog', () => {
  it('maintains exactly the lake tables lake/tables.ts declares', () => {
    expect([...LAKE_TABLES].sort()).toEqual(Object.keys(TABLES).sort());
  });

  it('loads into exactly the warehouse tables warehouse/tables.ts declares, under either name', () => {
    expect(WAREHOUSE_TABLE_OF).toEqual(Object.fromEntries(WAREHOUSE_TABLES.map((t) => [t.lake, t.name])));
    expect(tableNames('raw')).toEqual({ lake: 'raw', warehouse: 'ticks' });
    expect(tableNames('bars_1m')).toEqual({ lake: 'bars', warehouse: 'bars_1m' });
    expect(tableNames('nope')).toBeUndefined();
    expect(WORKFLOW_IDS.warehouseLoad('ticks', '2026-11-20')).toBe('load/ticks/2026-11-20');
  });

  it('loads the warehouse every 15 minutes', () => {
    const def = batchSchedules().find((d) => d.id === 'ticklake-warehouse-load')!;
    expect(def).toMatchObject({ workflowType: 'warehouseLoadSweepWorkflow', spec: { intervals: [{ every: '15m' }] } });
  });

  it('schedules only workflows the worker registers, under unique ticklake- ids', () => {
    const defs = batchSchedules();
    for (const d of defs) {
      expect(Object.keys(workflows), d.id).toContain(d.workflowType);
      expect(d.id.startsWith(SCHEDULE_PREFIX)).toBe(true);
    }
    expect(new Set(defs.map((d) => d.id)).size).toBe(defs.length);
  });

  it('names partition runs as people read them, and refuses to invent a day for a malformed partition', () => {
    expect(WORKFLOW_IDS.compactPartition('raw', 'dt=2026-11-20/hour=14')).toBe('compact/raw/2026-11-20/14');
    expect(partitionParts('dt=2026-11-20/hour=14')).toEqual({ day: '2026-11-20', hour: '14' });
    expect(partitionParts('2026-11-20/14')).toBeUndefined();
  });

  it('registers each search attribute with the CLI type name', () => {
    expect(searchAttributeFlags()).toEqual([
      'TicklakeTable=Keyword',
      'TicklakePartition=Keyword',
      'TicklakeDate=Datetime',
      'TicklakeOutcome=Keyword',
    ]);
  });
});
