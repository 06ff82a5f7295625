import { createHash } from 'node:crypto';
import { access, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TickLakeError } from '../core/errors.ts';
import { rewritePartition } from './duckdb-rewrite.ts';
import { DEFAULT_COMPACTION_TARGET_MB } from '../core/config.ts';
import { mapLimit } from '../core/lanes.ts';
import { compactedFileKey, mergeSources, partitionRange } from './layout.ts';

// Where it lived first; the warehouse fingerprints a day with it too, so it moved to the pure layout module.
export { mergeSources };
import {
  commit,
  loadPartition,
  loadSnapshot,
  partitionRef,
  snapshotPartitions,
  type CommitResult,
  type FileEntry,
} from './manifest.ts';
import { DEFAULT_ROW_GROUP_ROWS } from './parquet.ts';
import {
  outputBytes,
  type CompactionCheckpoint,
  type CompactionProgress,
  type TableCompactionProgress,
} from './compaction-progress.ts';
import type { DuckDb } from './duckdb.ts';
import type { Storage } from './storage/storage.ts';
import { storedSchema, type TableDef } from './tables.ts';

/**
 * Compaction of one partition: its small files are deduplicated by the table's key, sorted by (symbol,
 * event time) and rewritten as files of about the target size, then swapped in with one manifest commit
 * that is conditional on every input still being live. Of two racing compactions one commits and the other
 * gets status 'conflict' (or 'noop') and changes nothing; its outputs (if named differently) become orphans.
 *
 * The rewrite runs in DuckDB (lake/duckdb-rewrite.ts) over local copies of the inputs in a private temp
 * directory (FsStorage files are read in place), removed afterwards. Output names derive from the input set,
 * so a compaction retried after a crash rewrites the same objects. Replaced inputs are not deleted here: they
 * stay readable through the snapshots that reference them until snapshot expiry and orphan cleanup
 * (manifest.ts) remove them, which is the grace period.
 */
export const DEFAULT_TARGET_BYTES = DEFAULT_COMPACTION_TARGET_MB * 1024 * 1024;
/** Inputs fetched at once. */
const FETCH_CONCURRENCY = 16;

export interface CompactionOptions {
  targetBytes?: number;
  /** Files at least this large are left alone (default: 3/4 of the target). */
  smallFileBytes?: number;
  /** Fewest small files worth rewriting (default 2). */
  minFiles?: number;
  /** Rows per row group; DuckDB rounds it up to a multiple of 2048 (the default 131,072 is one). */
  rowGroupRows?: number;
  /** Where the private temp directory goes (default: the DuckDb's temp directory). */
  workDir?: string;
  now?: () => number;
  /** Told each step's progress (a copy); an activity heartbeats it. */
  onProgress?: (p: CompactionProgress) => void;
  /** The last progress an earlier attempt of the same partition reported: what it proved done is skipped. */
  resume?: CompactionProgress;
  /** Fault tests' hook at each step (streaming/sink/failpoints.ts); unset in production. */
  failpoint?: (point: CompactionFailpoint) => Promise<void>;
}

/** Dependencies of compaction, created by whoever composes the program (the CLI, the worker, a bench). */
export interface CompactionDeps {
  storage: Storage;
  duckdb: DuckDb;
}

/** Where fault tests may stop a compaction: inputs local; all outputs uploaded, not committed; committed. */
export const COMPACTION_FAILPOINTS = ['after-fetch', 'before-commit', 'after-commit'] as const;
export type CompactionFailpoint = (typeof COMPACTION_FAILPOINTS)[number];

/** Wall time of each step, ms: where a compaction spends its time. */
export interface CompactionTimings {
  /** Snapshot and part manifest. */
  plan: number;
  /** Inputs to local files (zero-copy for FsStorage). */
  fetch: number;
  /** DuckDB: dedupe, sort, write. */
  rewrite: number;
  /** DuckDB: the manifest facts read back from the outputs (while they upload). */
  facts: number;
  /** Waiting for uploads after the last file's facts were read. */
  upload: number;
  commit: number;
}

export interface CompactionResult {
  partition: string;
  status: CommitResult['status'] | 'nothing_to_do';
  seq: number | null;
  inputFiles: string[];
  outputFiles: string[];
  rowsIn: number;
  rowsOut: number;
  timings?: CompactionTimings;
  /** The rewrite (or the whole compaction) was an earlier attempt's, proved by its checkpoint and the lake. */
  resumed?: boolean;
}

const missing = (path: string) =>
  new TickLakeError('MANIFEST_CORRUPT', `live file ${path} is missing from storage`, { details: { path } });

/** Local paths of the inputs, in input order: the store's own files when it has them, else downloads. */
async function stageInputs(
  storage: Storage,
  inputs: readonly FileEntry[],
  dir: string,
  onStaged: (f: FileEntry) => void,
): Promise<string[]> {
  return mapLimit(inputs, FETCH_CONCURRENCY, async (f, i) => {
    const local = join(dir, `in-${String(i).padStart(6, '0')}.parquet`);
    const own = storage.localPath?.(f.path);
    if (own === undefined) {
      const bytes = await storage.get(f.path);
      if (!bytes) throw missing(f.path);
      await writeFile(local, bytes);
      onStaged(f);
      return local;
    }
    // Read in place, unless DuckDB would take the path for a glob pattern.
    const inPlace = !/[*?[]/.test(own);
    try {
      await (inPlace ? access(own) : copyFile(own, local));
    } catch (err) {
      throw (err as { code?: string }).code === 'ENOENT' ? missing(f.path) : err;
    }
    onStaged(f);
    return inPlace ? own : local;
  });
}

/**
 * Compacts one partition. With `resume` (the progress an earlier attempt last reported) it skips what that attempt
 * proved done, checked against the lake, never taken on trust:
 *
 * - outputs all uploaded (a checkpoint) and today's plan is the same (same hash, so the same inputs are live):
 *   the fetch and rewrite are skipped when every output object is still stored with the recorded size; the commit
 *   is still conditional on the inputs, so a stale checkpoint at worst commits nothing;
 * - nothing left to do, and every output of the checkpoint is live in the partition: the earlier attempt's commit
 *   went through before it could report, so that commit is the result (status 'committed', `resumed`).
 */
export async function compactPartition(
  deps: CompactionDeps,
  def: TableDef,
  partition: string,
  opts: CompactionOptions = {},
): Promise<CompactionResult> {
  partitionRange(partition); // rejects anything that isn't a partition path
  const { storage } = deps;
  const target = opts.targetBytes ?? DEFAULT_TARGET_BYTES;
  const small = opts.smallFileBytes ?? Math.floor(target * 0.75);
  const result: CompactionResult = {
    partition,
    status: 'nothing_to_do',
    seq: null,
    inputFiles: [],
    outputFiles: [],
    rowsIn: 0,
    rowsOut: 0,
  };
  let t = performance.now();
  const lap = () => {
    const now = performance.now();
    const ms = now - t;
    t = now;
    return ms;
  };
  const zero = () => ({ done: 0, total: 0 });
  const progress: CompactionProgress = {
    table: def.name,
    partition,
    stage: 'plan',
    files: zero(),
    rows: zero(),
    bytes: zero(),
  };
  const report = (change: Partial<CompactionProgress>) => {
    Object.assign(progress, change);
    opts.onProgress?.(structuredClone(progress));
  };
  const done = (r: CompactionResult): CompactionResult => {
    report({ stage: 'done' });
    return r;
  };
  report({});
  const snap = await loadSnapshot(storage, def.name);
  const ref = await partitionRef(storage, snap, partition);
  if (!snap || !ref) return done(result);
  const live = await loadPartition(storage, ref);
  const inputs = live.filter((f) => f.bytes < small);
  if (inputs.length < (opts.minFiles ?? 2)) {
    const earlier = committedEarlier(opts.resume, def.name, partition, live, snap.seq);
    return done(earlier ?? { ...result, seq: snap.seq });
  }
  inputs.sort((a, b) => (a.path < b.path ? -1 : 1));
  const rowsIn = inputs.reduce((n, f) => n + f.rows, 0);
  const inputBytes = inputs.reduce((n, f) => n + f.bytes, 0);
  const hash = createHash('sha256')
    .update(JSON.stringify([def.name, def.version, target, inputs.map((f) => f.path)]))
    .digest('hex')
    .slice(0, 16);
  const sources = mergeSources(inputs.flatMap((f) => f.sources));
  const now = (opts.now ?? Date.now)();
  const timings: CompactionTimings = { plan: lap(), fetch: 0, rewrite: 0, facts: 0, upload: 0, commit: 0 };
  report({
    files: { done: 0, total: inputs.length },
    rows: { done: 0, total: rowsIn },
    bytes: { done: 0, total: inputBytes },
  });

  let outputs = await resumableOutputs(storage, opts.resume?.checkpoint, hash, Date.now());
  if (outputs) {
    report({ resumed: true });
  } else {
    outputs = await rewriteAndUpload(deps, def, partition, inputs, {
      ...opts,
      target,
      hash,
      rowsIn,
      inputBytes,
      sources,
      addedAt: now,
      timings,
      lap,
      report,
    });
  }
  report({
    stage: 'commit',
    files: { done: outputs.length, total: outputs.length },
    bytes: { done: outputBytes(outputs), total: outputBytes(outputs) },
    checkpoint: { plan: hash, inputFiles: inputs.map((f) => f.path), rowsIn, outputs },
  });
  await opts.failpoint?.('before-commit');

  const committed = await commit(
    storage,
    def.name,
    storedSchema(def),
    { kind: 'replace', partition, remove: inputs.map((f) => f.path), add: outputs },
    { now: opts.now },
  );
  timings.commit = lap();
  await opts.failpoint?.('after-commit');
  return done({
    partition,
    status: committed.status,
    seq: committed.seq,
    inputFiles: inputs.map((f) => f.path),
    outputFiles: outputs.map((f) => f.path),
    rowsIn,
    rowsOut: outputs.reduce((n, f) => n + f.rows, 0),
    timings,
    ...(progress.resumed ? { resumed: true } : {}),
  });
}

/**
 * Uploaded outputs older than this are rewritten rather than reused: they are not in any snapshot, so orphan cleanup
 * may delete them once they are past its grace (24 h by default), possibly between this check and the commit. Far
 * above a retry's wait (the activity's retries span about an hour), far below the grace.
 */
const RESUME_MAX_AGE_MS = 6 * 3_600_000;

/** The checkpoint's outputs when they belong to this plan and are all still stored as recorded; else undefined. */
async function resumableOutputs(
  storage: Storage,
  checkpoint: CompactionCheckpoint | undefined,
  plan: string,
  nowMs: number,
): Promise<FileEntry[] | undefined> {
  if (!checkpoint || checkpoint.plan !== plan || checkpoint.outputs.length === 0) return undefined;
  const stored = await mapLimit(checkpoint.outputs, FETCH_CONCURRENCY, (f) => storage.head(f.path));
  const intact = stored.every(
    (o, i) => o?.size === checkpoint.outputs[i]!.bytes && nowMs - o.lastModified.getTime() < RESUME_MAX_AGE_MS,
  );
  return intact ? checkpoint.outputs : undefined;
}

/** The result of the checkpoint's commit when the manifest shows it made (every output live); else undefined. */
function committedEarlier(
  resume: CompactionProgress | undefined,
  table: string,
  partition: string,
  live: readonly FileEntry[],
  seq: number,
): CompactionResult | undefined {
  const cp = resume?.checkpoint;
  if (!cp || resume.table !== table || resume.partition !== partition || cp.outputs.length === 0) return undefined;
  const paths = new Set(live.map((f) => f.path));
  if (!cp.outputs.every((f) => paths.has(f.path))) return undefined;
  return {
    partition,
    status: 'committed',
    seq,
    inputFiles: cp.inputFiles,
    outputFiles: cp.outputs.map((f) => f.path),
    rowsIn: cp.rowsIn,
    rowsOut: cp.outputs.reduce((n, f) => n + f.rows, 0),
    resumed: true,
  };
}

interface RewriteContext extends Omit<CompactionOptions, 'now'> {
  target: number;
  hash: string;
  rowsIn: number;
  inputBytes: number;
  sources: FileEntry['sources'];
  addedAt: number;
  timings: CompactionTimings;
  lap: () => number;
  report: (change: Partial<CompactionProgress>) => void;
}

/** Fetch, DuckDB rewrite and upload: the manifest entries of the uploaded outputs. */
async function rewriteAndUpload(
  deps: CompactionDeps,
  def: TableDef,
  partition: string,
  inputs: FileEntry[],
  c: RewriteContext,
): Promise<FileEntry[]> {
  const { storage } = deps;
  const work = await mkdtemp(join(c.workDir ?? deps.duckdb.settings.tempDir, 'ticklake-compact-'));
  // Each output is uploaded as soon as DuckDB has written it, one at a time, while its facts are read.
  let uploads = Promise.resolve();
  let uploadError: unknown;
  let written = 0;
  const uploaded = { files: 0, bytes: 0 };
  const upload = (n: number, file: string) => {
    written++;
    c.report({ stage: 'rewrite', files: { done: written, total: written } });
    uploads = uploads
      .then(async () => {
        if (uploadError !== undefined) return;
        const body = await readFile(file);
        await storage.put(compactedFileKey(def.name, partition, c.hash, n), body);
        uploaded.files++;
        uploaded.bytes += body.length;
      })
      .catch((err: unknown) => {
        uploadError ??= err;
      });
  };
  try {
    let fetched = 0;
    let fetchedBytes = 0;
    const local = await stageInputs(storage, inputs, work, (f) => {
      fetched++;
      fetchedBytes += f.bytes;
      c.report({
        stage: 'fetch',
        files: { done: fetched, total: inputs.length },
        bytes: { done: fetchedBytes, total: c.inputBytes },
      });
    });
    c.timings.fetch = c.lap();
    await c.failpoint?.('after-fetch');
    c.report({ stage: 'rewrite', files: { done: 0, total: 0 }, bytes: { done: 0, total: 0 } });
    const files = await rewritePartition(deps.duckdb, def, local, {
      targetBytes: c.target,
      rowGroupRows: c.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS,
      inputRows: c.rowsIn,
      inputBytes: c.inputBytes,
      outDir: work,
      onFile: upload,
      onTiming: (step, ms) => (c.timings[step === 'write' ? 'rewrite' : 'facts'] += ms),
    });
    c.lap();
    const total = files.reduce((n, f) => n + f.bytes, 0);
    c.report({
      stage: 'upload',
      files: { done: uploaded.files, total: files.length },
      rows: { done: files.reduce((n, f) => n + f.rows, 0), total: c.rowsIn },
      bytes: { done: uploaded.bytes, total },
    });
    await uploads;
    if (uploadError !== undefined) throw uploadError;
    c.timings.upload = c.lap();
    return files.map((f, n) => ({
      path: compactedFileKey(def.name, partition, c.hash, n),
      partition,
      rows: f.rows,
      bytes: f.bytes,
      minTs: f.stats.minTs,
      maxTs: f.stats.maxTs,
      minSymbol: f.stats.minSymbol,
      maxSymbol: f.stats.maxSymbol,
      symbols: f.symbols,
      schemaVersion: def.version,
      sources: c.sources,
      rowGroups: f.rowGroups,
      addedAt: c.addedAt,
    }));
  } finally {
    await uploads; // never rejects: the files must stay until every upload has read them
    await rm(work, { recursive: true, force: true });
  }
}

export interface CompactionCandidate {
  partition: string;
  files: number;
  smallFiles: number;
  bytes: number;
  rows: number;
}

/**
 * The partitions worth compacting: ended before `beforeUs` (default: all) and holding at least `minFiles` (default 2)
 * files below the small-file size. What `compactTable` and the batch layer's sweep both act on.
 */
export async function compactionCandidates(
  storage: Storage,
  def: TableDef,
  opts: CompactionOptions & { beforeUs?: number } = {},
): Promise<CompactionCandidate[]> {
  const snap = await loadSnapshot(storage, def.name);
  if (!snap) return [];
  const small = opts.smallFileBytes ?? Math.floor((opts.targetBytes ?? DEFAULT_TARGET_BYTES) * 0.75);
  const out: CompactionCandidate[] = [];
  for (const ref of await snapshotPartitions(storage, snap)) {
    if (opts.beforeUs !== undefined && partitionRange(ref.partition).endUs > opts.beforeUs) continue;
    const files = await loadPartition(storage, ref);
    const smallFiles = files.filter((f) => f.bytes < small).length;
    if (smallFiles < (opts.minFiles ?? 2)) continue;
    out.push({
      partition: ref.partition,
      files: files.length,
      smallFiles,
      bytes: files.reduce((n, f) => n + f.bytes, 0),
      rows: files.reduce((n, f) => n + f.rows, 0),
    });
  }
  return out;
}

/** Compacts every partition that has small files and ended before `beforeUs` (default: all). */
export async function compactTable(
  deps: CompactionDeps,
  def: TableDef,
  opts: CompactionOptions & { beforeUs?: number; onTableProgress?: (p: TableCompactionProgress) => void } = {},
): Promise<CompactionResult[]> {
  const out: CompactionResult[] = [];
  const candidates = await compactionCandidates(deps.storage, def, opts);
  const total = candidates.length;
  const tell = (current?: CompactionProgress) =>
    opts.onTableProgress?.({ table: def.name, partitions: { done: out.length, total }, current });
  tell();
  for (const c of candidates) {
    out.push(await compactPartition(deps, def, c.partition, { ...opts, onProgress: tell }));
  }
  tell();
  return out;
}
