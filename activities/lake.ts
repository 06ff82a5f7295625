import { Context } from '@temporalio/activity';
import { TickLakeError } from '../core/errors.ts';
import {
  compactionCandidates,
  compactPartition,
  type CompactionCandidate,
  type CompactionFailpoint,
} from '../lake/compaction.ts';
import {
  compactionProgressSchema,
  progressFrom,
  vacuumProgressSchema,
  type CompactionProgress,
  type VacuumProgress,
} from '../lake/compaction-progress.ts';
import type { DuckDb } from '../lake/duckdb.ts';
import type { Storage } from '../lake/storage/storage.ts';
import { vacuumTable } from '../lake/vacuum.ts';
import { TABLES, type TableName } from '../lake/tables.ts';

/**
 * Lake maintenance as Temporal activities: finding partitions to compact, compacting one, vacuuming a table. Each is
 * idempotent by the lake's own design: a compaction's outputs are named from its input set and swapped in by a
 * commit conditional on the inputs still being live, so a retry after a crash rewrites the same objects and commits
 * at most once; expiry and orphan removal converge. Only references and counts cross Temporal, never rows.
 */
export interface LakeActivityDeps {
  storage: Storage;
  /** The DuckDB instance compactions rewrite with; its settings (threads, memory, temp dir) are the worker's. */
  duckdb: DuckDb;
  /** Compacted files are cut at about this size. */
  targetBytes: number;
  /** How often a long activity tells Temporal it is alive (its heartbeat timeout is set by the workflow). */
  heartbeatMs?: number;
  /** Fault tests' hook at each compaction step; unset in production. */
  failpoint?: (point: CompactionFailpoint) => Promise<void>;
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
  /** The rewrite, or the whole compaction, was an earlier attempt's (resumed from its heartbeat). */
  resumed?: boolean;
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
  resumed?: boolean;
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

/**
 * Heartbeats while `work` runs: at once, then every `ms` with the latest progress `work` reported (the SDK throttles
 * what it sends), so a worker that dies is noticed within the heartbeat timeout and its retry reads where it was.
 */
export async function heartbeating<T>(
  ms: number,
  work: (progress: (details: unknown) => void) => Promise<T>,
  initial?: unknown,
): Promise<T> {
  const ctx = activityContext();
  if (!ctx) return work(() => undefined);
  // Until this attempt reports, it heartbeats what the previous one left: a retry that fails early must not wipe it.
  let latest: unknown = initial;
  const beat = () => (latest === undefined ? ctx.heartbeat() : ctx.heartbeat(latest));
  beat();
  const timer = setInterval(beat, ms);
  try {
    return await work((details) => {
      latest = details;
      beat();
    });
  } finally {
    clearInterval(timer);
  }
}

/** The progress the previous attempt of this activity last heartbeated, when it is of this kind. */
function resumeFrom<T>(schema: Parameters<typeof progressFrom<T>>[0]): T | undefined {
  const ctx = activityContext();
  return ctx ? progressFrom(schema, ctx.info.heartbeatDetails) : undefined;
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
      const earlier = resumeFrom<CompactionProgress>(compactionProgressSchema);
      const resume = earlier?.table === def.name && earlier.partition === input.partition ? earlier : undefined;
      // A checkpoint is carried forward until this attempt has its own, so an attempt that fails before the
      // upload (S3 still down) leaves the next one the same checkpoint to try.
      const carry = (p: CompactionProgress) =>
        p.checkpoint || !resume?.checkpoint ? p : { ...p, checkpoint: resume.checkpoint };
      const r = await heartbeating(
        heartbeatMs,
        (progress) =>
          compactPartition(deps, def, input.partition, {
            targetBytes: deps.targetBytes,
            resume,
            onProgress: (p) => progress(carry(p)),
            failpoint: deps.failpoint,
          }),
        resume,
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
        ...(r.resumed ? { resumed: true } : {}),
      };
    },

    async vacuumTable(input: VacuumInput): Promise<VacuumOutcome> {
      const def = tableDef(input.table);
      const resume = resumeFrom<VacuumProgress>(vacuumProgressSchema);
      const r = await heartbeating(
        heartbeatMs,
        (progress) =>
          vacuumTable(deps, def.name, {
            keepLast: input.keepLast,
            graceMs: input.graceMs,
            resume,
            onProgress: progress,
          }),
        resume,
      );
      return {
        table: def.name,
        expiredSnapshots: r.expiredSnapshots,
        removedObjects: r.orphans.length,
        ...(r.resumed ? { resumed: true } : {}),
      };
    },
  };
}

export type LakeActivities = ReturnType<typeof createLakeActivities>;
