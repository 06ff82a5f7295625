import { Context } from '@temporalio/activity';
import { TickLakeError } from '../core/errors.ts';
import { compactionCandidates, compactPartition, type CompactionCandidate } from '../lake/compaction.ts';
import { expireSnapshots, removeOrphans } from '../lake/manifest.ts';
import type { Storage } from '../lake/storage/storage.ts';
import { TABLES, type TableName } from '../lake/tables.ts';

/**
 * Lake maintenance as Temporal activities: finding partitions to compact, compacting one, vacuuming a table. Each is
 * idempotent by the lake's own design: a compaction's outputs are named from its input set and swapped in by a
 * commit conditional on the inputs still being live, so a retry after a crash rewrites the same objects and commits
 * at most once; expiry and orphan removal converge. Only references and counts cross Temporal, never rows.
 */
export interface LakeActivityDeps {
  storage: Storage;
  /** Compacted files are cut at about this size. */
  targetBytes: number;
  /** How often a long activity tells Temporal it is alive (its heartbeat timeout is set by the workflow). */
  heartbeatMs?: number;
}

export interface CompactInput {
  table: string;
  /** `dt=YYYY-MM-DD/hour=HH`. */
  partition: string;
}

export interface CompactOutcome {
  table: string;
  partition: string;
  status: 'committed' | 'noop' | 'conflict' | 'nothing_to_do';
  seq: number | null;
  filesIn: number;
  filesOut: number;
  rowsIn: number;
  rowsOut: number;
}

export interface VacuumInput {
  table: string;
  /** Snapshots always kept. */
  keepLast: number;
  /** Snapshots and unreferenced files younger than this are kept: the time readers have to finish. */
  graceMs: number;
}

export interface VacuumOutcome {
  table: string;
  expiredSnapshots: number;
  removedObjects: number;
}

export function tableDef(table: string) {
  const def = TABLES[table as TableName];
  if (!def) {
    throw new TickLakeError('INPUT_INVALID', `unknown lake table ${JSON.stringify(table)}`, {
      details: { table, known: Object.keys(TABLES) },
    });
  }
  return def;
}

/** Heartbeats every `ms` while `work` runs, so a worker that dies is noticed within the heartbeat timeout. */
export async function heartbeating<T>(ms: number, work: () => Promise<T>): Promise<T> {
  const ctx = activityContext();
  if (!ctx) return work();
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), ms);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

export function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called outside an activity (a unit test, the CLI)
  }
}

export function createLakeActivities(deps: LakeActivityDeps) {
  const heartbeatMs = deps.heartbeatMs ?? 5_000;
  return {
    /** Closed partitions (ended before `closedBeforeUs`) with at least `minFiles` small files. */
    async findCompactionCandidates(input: {
      table: string;
      closedBeforeUs: number;
      minFiles: number;
    }): Promise<CompactionCandidate[]> {
      return compactionCandidates(deps.storage, tableDef(input.table), {
        beforeUs: input.closedBeforeUs,
        minFiles: input.minFiles,
        targetBytes: deps.targetBytes,
      });
    },

    async compactPartition(input: CompactInput): Promise<CompactOutcome> {
      const def = tableDef(input.table);
      const r = await heartbeating(heartbeatMs, () =>
        compactPartition(deps.storage, def, input.partition, { targetBytes: deps.targetBytes }),
      );
      return {
        table: input.table,
        partition: r.partition,
        status: r.status,
        seq: r.seq,
        filesIn: r.inputFiles.length,
        filesOut: r.outputFiles.length,
        rowsIn: r.rowsIn,
        rowsOut: r.rowsOut,
      };
    },

    async vacuumTable(input: VacuumInput): Promise<VacuumOutcome> {
      const def = tableDef(input.table);
      return heartbeating(heartbeatMs, async () => {
        const expired = await expireSnapshots(deps.storage, def.name, {
          keepLast: input.keepLast,
          maxAgeMs: input.graceMs,
        });
        const removed = await removeOrphans(deps.storage, def.name, { graceMs: input.graceMs });
        return { table: def.name, expiredSnapshots: expired.length, removedObjects: removed.length };
      });
    },
  };
}

export type LakeActivities = ReturnType<typeof createLakeActivities>;
