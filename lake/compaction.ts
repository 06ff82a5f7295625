import { createHash } from 'node:crypto';
import { access, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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
  /** Where the private temp directory goes (default: the OS temp directory). */
  workDir?: string;
  now?: () => number;
}

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
}

const missing = (path: string) =>
  new TickLakeError('MANIFEST_CORRUPT', `live file ${path} is missing from storage`, { details: { path } });

/** Local paths of the inputs, in input order: the store's own files when it has them, else downloads. */
async function stageInputs(storage: Storage, inputs: readonly FileEntry[], dir: string): Promise<string[]> {
  return mapLimit(inputs, FETCH_CONCURRENCY, async (f, i) => {
    const local = join(dir, `in-${String(i).padStart(6, '0')}.parquet`);
    const own = storage.localPath?.(f.path);
    if (own === undefined) {
      const bytes = await storage.get(f.path);
      if (!bytes) throw missing(f.path);
      await writeFile(local, bytes);
      return local;
    }
    // Read in place, unless DuckDB would take the path for a glob pattern.
    const inPlace = !/[*?[]/.test(own);
    try {
      await (inPlace ? access(own) : copyFile(own, local));
    } catch (err) {
      throw (err as { code?: string }).code === 'ENOENT' ? missing(f.path) : err;
    }
    return inPlace ? own : local;
  });
}

export async function compactPartition(
  storage: Storage,
  def: TableDef,
  partition: string,
  opts: CompactionOptions = {},
): Promise<CompactionResult> {
  partitionRange(partition); // rejects anything that isn't a partition path
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
  const snap = await loadSnapshot(storage, def.name);
  const ref = await partitionRef(storage, snap, partition);
  if (!snap || !ref) return result;
  const inputs = (await loadPartition(storage, ref)).filter((f) => f.bytes < small);
  if (inputs.length < (opts.minFiles ?? 2)) return { ...result, seq: snap.seq };
  inputs.sort((a, b) => (a.path < b.path ? -1 : 1));
  const rowsIn = inputs.reduce((n, f) => n + f.rows, 0);
  const hash = createHash('sha256')
    .update(JSON.stringify([def.name, def.version, target, inputs.map((f) => f.path)]))
    .digest('hex')
    .slice(0, 16);
  const sources = mergeSources(inputs.flatMap((f) => f.sources));
  const now = (opts.now ?? Date.now)();
  const timings: CompactionTimings = { plan: lap(), fetch: 0, rewrite: 0, facts: 0, upload: 0, commit: 0 };

  const work = await mkdtemp(join(opts.workDir ?? tmpdir(), 'ticklake-compact-'));
  // Each output is uploaded as soon as DuckDB has written it, one at a time, while its facts are read.
  let uploads = Promise.resolve();
  let uploadError: unknown;
  const upload = (n: number, file: string) => {
    uploads = uploads
      .then(async () => {
        if (uploadError === undefined)
          await storage.put(compactedFileKey(def.name, partition, hash, n), await readFile(file));
      })
      .catch((err: unknown) => {
        uploadError ??= err;
      });
  };
  let outputs: FileEntry[];
  try {
    const local = await stageInputs(storage, inputs, work);
    timings.fetch = lap();
    const files = await rewritePartition(def, local, {
      targetBytes: target,
      rowGroupRows: opts.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS,
      inputRows: rowsIn,
      inputBytes: inputs.reduce((n, f) => n + f.bytes, 0),
      outDir: work,
      onFile: upload,
      onTiming: (step, ms) => (timings[step === 'write' ? 'rewrite' : 'facts'] += ms),
    });
    lap();
    await uploads;
    if (uploadError !== undefined) throw uploadError;
    timings.upload = lap();
    outputs = files.map((f, n) => ({
      path: compactedFileKey(def.name, partition, hash, n),
      partition,
      rows: f.rows,
      bytes: f.bytes,
      minTs: f.stats.minTs,
      maxTs: f.stats.maxTs,
      minSymbol: f.stats.minSymbol,
      maxSymbol: f.stats.maxSymbol,
      symbols: f.symbols,
      schemaVersion: def.version,
      sources,
      rowGroups: f.rowGroups,
      addedAt: now,
    }));
  } finally {
    await uploads; // never rejects: the files must stay until every upload has read them
    await rm(work, { recursive: true, force: true });
  }

  const committed = await commit(
    storage,
    def.name,
    storedSchema(def),
    { kind: 'replace', partition, remove: inputs.map((f) => f.path), add: outputs },
    { now: opts.now },
  );
  timings.commit = lap();
  return {
    partition,
    status: committed.status,
    seq: committed.seq,
    inputFiles: inputs.map((f) => f.path),
    outputFiles: outputs.map((f) => f.path),
    rowsIn,
    rowsOut: outputs.reduce((n, f) => n + f.rows, 0),
    timings,
  };
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
  storage: Storage,
  def: TableDef,
  opts: CompactionOptions & { beforeUs?: number } = {},
): Promise<CompactionResult[]> {
  const out: CompactionResult[] = [];
  for (const c of await compactionCandidates(storage, def, opts)) {
    out.push(await compactPartition(storage, def, c.partition, opts));
  }
  return out;
}
