import { z } from 'zod';
import { fileEntrySchema, type FileEntry } from './manifest.ts';

/**
 * What compaction and vacuum tell a caller while they run, and what a retry may take back from it. A Temporal
 * activity heartbeats the latest progress as its details; the retry after a lost worker or an outage reads them
 * back (validated here, since they come over the wire) and skips what the checkpoint proves done. The manifest
 * stays the only point of truth: a checkpoint only ever saves work, never decides an outcome the manifest does
 * not show (lake/compaction.ts says how each is checked).
 */
export const COMPACTION_STAGES = ['plan', 'fetch', 'rewrite', 'upload', 'commit', 'done'] as const;
export type CompactionStage = (typeof COMPACTION_STAGES)[number];

const count = z.number().int().nonnegative();
export const doneTotalSchema = z.object({ done: count, total: count });
export type DoneTotal = z.infer<typeof doneTotalSchema>;

/**
 * Once every output of a partition's rewrite is uploaded: the plan it belongs to and the manifest entries to commit.
 * `plan` is the hash the output names derive from (table, version, target, input set), so it matches a retry's plan
 * exactly when the retry would rewrite the same inputs into the same objects.
 */
export const compactionCheckpointSchema = z.object({
  plan: z.string().regex(/^[0-9a-f]{16}$/),
  inputFiles: z.array(z.string()),
  rowsIn: count,
  outputs: z.array(fileEntrySchema),
});
export type CompactionCheckpoint = z.infer<typeof compactionCheckpointSchema>;

export const compactionProgressSchema = z.object({
  table: z.string(),
  partition: z.string(),
  stage: z.enum(COMPACTION_STAGES),
  /** plan/fetch: input files; rewrite: outputs written; upload: outputs uploaded. */
  files: doneTotalSchema,
  /** Input rows planned; rewrite: output rows written so far (of the input rows). */
  rows: doneTotalSchema,
  /** fetch: input bytes local; upload: output bytes uploaded. */
  bytes: doneTotalSchema,
  checkpoint: compactionCheckpointSchema.optional(),
  /** Set when this run skipped the rewrite because a checkpoint proved it done. */
  resumed: z.boolean().optional(),
});
export type CompactionProgress = z.infer<typeof compactionProgressSchema>;

/** A table's compaction (the CLI's `lake compact`): partitions done of those found, and the current one's progress. */
export interface TableCompactionProgress {
  table: string;
  partitions: DoneTotal;
  current?: CompactionProgress;
}

export const VACUUM_STAGES = ['expire', 'orphans', 'done'] as const;
export const vacuumProgressSchema = z.object({
  table: z.string(),
  stage: z.enum(VACUUM_STAGES),
  expiredSnapshots: count,
  /** Orphans deleted of those found (dry run: listed). */
  orphans: doneTotalSchema,
});
export type VacuumProgress = z.infer<typeof vacuumProgressSchema>;

/** The details of an earlier attempt, if they are a progress report of this kind; anything else is ignored. */
export function progressFrom<T>(schema: z.ZodType<T>, details: unknown): T | undefined {
  const r = schema.safeParse(details);
  return r.success ? r.data : undefined;
}

export const outputBytes = (outputs: readonly FileEntry[]) => outputs.reduce((n, f) => n + f.bytes, 0);
