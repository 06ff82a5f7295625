import type { VacuumProgress } from './compaction-progress.ts';
import { expireSnapshots, removeOrphans } from './manifest.ts';
import type { Storage } from './storage/storage.ts';

/**
 * Vacuum of one table: snapshot expiry, then removal of the objects no retained snapshot references (both in
 * lake/manifest/maintenance.ts), with progress for a heartbeating caller. Both steps converge when repeated, so a
 * retry is always safe; `resume` only saves the expiry when an earlier attempt reported it done.
 */
export interface VacuumDeps {
  storage: Storage;
}

export interface VacuumOptions {
  /** Snapshots always kept. */
  keepLast: number;
  /** Snapshots and unreferenced objects younger than this stay: the time readers have to finish. */
  graceMs: number;
  /** List orphans without deleting anything (no expiry either). */
  dryRun?: boolean;
  now?: number;
  onProgress?: (p: VacuumProgress) => void;
  resume?: VacuumProgress;
}

export interface VacuumResult {
  table: string;
  expiredSnapshots: number;
  /** Deleted (a dry run: would be deleted). */
  orphans: string[];
  /** The expiry was an earlier attempt's. */
  resumed?: boolean;
}

export async function vacuumTable(deps: VacuumDeps, table: string, opts: VacuumOptions): Promise<VacuumResult> {
  const progress: VacuumProgress = { table, stage: 'expire', expiredSnapshots: 0, orphans: { done: 0, total: 0 } };
  const report = (change: Partial<VacuumProgress>) => {
    Object.assign(progress, change);
    opts.onProgress?.(structuredClone(progress));
  };
  const earlier = opts.resume?.table === table && opts.resume.stage !== 'expire' ? opts.resume : undefined;
  if (earlier) {
    report({ stage: 'orphans', expiredSnapshots: earlier.expiredSnapshots });
  } else {
    report({});
    const expired = opts.dryRun
      ? []
      : await expireSnapshots(deps.storage, table, { keepLast: opts.keepLast, maxAgeMs: opts.graceMs, now: opts.now });
    report({ stage: 'orphans', expiredSnapshots: expired.length });
  }
  const orphans = await removeOrphans(deps.storage, table, {
    graceMs: opts.graceMs,
    now: opts.now,
    dryRun: opts.dryRun,
    onProgress: (done, total) => report({ orphans: { done, total } }),
  });
  report({ stage: 'done' });
  return {
    table,
    expiredSnapshots: progress.expiredSnapshots,
    orphans,
    ...(earlier ? { resumed: true } : {}),
  };
}
