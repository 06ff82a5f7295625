import { proxyActivities } from '@temporalio/workflow';
import type { LakeActivities, VacuumOutcome } from '../activities/lake.ts';
import { defaultLakeTables } from './default-tables.ts';

const { vacuumTable } = proxyActivities<LakeActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 20 },
});

export interface VacuumInput {
  /** Default: every lake table. */
  tables?: string[];
  /** Snapshots always kept per table. */
  keepLast?: number;
  /** Snapshots and unreferenced files younger than this stay: readers of an older snapshot have this long. */
  graceHours?: number;
}

/** Daily: expires old snapshots and removes files no retained snapshot references, one table after another. */
export async function vacuumWorkflow(input: VacuumInput = {}): Promise<VacuumOutcome[]> {
  const out: VacuumOutcome[] = [];
  for (const table of input.tables ?? defaultLakeTables()) {
    out.push(
      await vacuumTable({
        table,
        keepLast: input.keepLast ?? 20,
        graceMs: (input.graceHours ?? 24) * 3_600_000,
      }),
    );
  }
  return out;
}
