import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { compactPartition, type CompactionFailpoint } from '../../../lake/compaction.ts';
import type { CompactionProgress, VacuumProgress } from '../../../lake/compaction-progress.ts';
import { DuckDb } from '../../../lake/duckdb.ts';
import { partitionOf, type SourceRange } from '../../../lake/layout.ts';
import { listSnapshotSeqs, loadSnapshot } from '../../../lake/manifest.ts';
import { scanColumns } from '../../../lake/reader.ts';
import type { Storage } from '../../../lake/storage/storage.ts';
import { rawTable } from '../../../lake/tables.ts';
import { vacuumTable } from '../../../lake/vacuum.ts';
import { LakeWriter } from '../../../lake/writer.ts';
import { T0, collect, makeTicks, tempStorage } from './fixtures.ts';

/** Compaction and vacuum as dependencies-in, progress-out functions: separate handles, progress, resume. */
const P = partitionOf(T0);
const duckdb = new DuckDb({ threads: 1 });
afterAll(() => duckdb.close());

const range = (start: number, end: number): SourceRange => ({
  topic: 'ticks.raw',
  partition: 0,
  startOffset: String(start),
  endOffset: String(end),
});

/** Five files of 300 ticks, the 4th a replay of the 2nd: 1200 distinct ids. */
async function seed(storage: Storage, files = 5, offset0 = 0): Promise<void> {
  const lake = new LakeWriter(storage);
  for (let i = 0; i < files; i++) {
    const o = offset0 + i * 300;
    const ticks = makeTicks(300, { seq0: (i === 3 ? 1 : i) * 300 + offset0, spanUs: 3_000_000_000 });
    await lake.commit(rawTable, await lake.writeFile(rawTable, ticks, range(o, o + 299)));
  }
}

async function ids(storage: Storage): Promise<string[]> {
  const parts = await collect(scanColumns(storage, rawTable, {}));
  return parts.flatMap((c) => c.id! as string[]);
}

async function replaceCommits(storage: Storage): Promise<number> {
  let n = 0;
  for (const seq of await listSnapshotSeqs(storage, 'raw')) {
    if ((await loadSnapshot(storage, 'raw', seq))?.operation === 'replace') n++;
  }
  return n;
}

/** A compaction that "crashes" (throws) at `point`, and the last progress it reported before. */
async function crashAt(storage: Storage, point: CompactionFailpoint): Promise<CompactionProgress> {
  let last: CompactionProgress | undefined;
  const err = await compactPartition({ storage, duckdb }, rawTable, P, {
    onProgress: (p) => (last = p),
    failpoint: async (at) => {
      if (at === point) throw new Error(`crash at ${at}`);
    },
  }).catch((e: unknown) => e);
  expect((err as Error).message).toBe(`crash at ${point}`);
  return last!;
}

describe('compaction dependencies and progress', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((c) => c()));
  });
  async function lake() {
    const t = await tempStorage();
    cleanups.push(t.cleanup);
    await seed(t.storage);
    return t.storage;
  }

  it('two compactions with differently configured DuckDb handles run at once in one process', async () => {
    const [a, b] = await Promise.all([lake(), lake()]);
    const dirs = await Promise.all(['a', 'b'].map((x) => mkdtemp(join(tmpdir(), `ticklake-deps-${x}-`))));
    cleanups.push(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))).then(() => undefined));
    const one = new DuckDb({ threads: 1, memoryLimit: '256MB', tempDir: dirs[0] });
    const two = new DuckDb({ threads: 2, memoryLimit: '1GB', tempDir: dirs[1] });
    // While each rewrites, its staging directory is under its own handle's temp dir, not the other's.
    const seen: string[][] = [[], []];
    const watch = (i: number) => async (p: CompactionProgress) => {
      if (p.stage === 'rewrite') seen[i]!.push(...(await readdir(dirs[i]!)));
    };
    try {
      const [ra, rb] = await Promise.all([
        compactPartition({ storage: a, duckdb: one }, rawTable, P, { onProgress: (p) => void watch(0)(p) }),
        compactPartition({ storage: b, duckdb: two }, rawTable, P, { onProgress: (p) => void watch(1)(p) }),
      ]);
      expect([ra.status, rb.status]).toEqual(['committed', 'committed']);
      expect([ra.rowsOut, rb.rowsOut]).toEqual([1200, 1200]);
      expect(seen[0]!.some((f) => f.startsWith('ticklake-compact-'))).toBe(true);
      expect(seen[1]!.some((f) => f.startsWith('ticklake-compact-'))).toBe(true);
      const settings = (db: DuckDb) =>
        db.run(async (con) => (await con.runAndReadAll(`SELECT current_setting('threads')::INT`)).getRows()[0]![0]);
      expect([await settings(one), await settings(two)]).toEqual([1, 2]);
      expect(new Set(await ids(a)).size).toBe(1200);
      expect(new Set(await ids(b)).size).toBe(1200);
      // Nothing of either is left in its temp dir once it is done.
      expect(await readdir(dirs[0]!)).toEqual([]);
      expect(await readdir(dirs[1]!)).toEqual([]);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('reports each stage in order with files, rows and bytes done of total, ending in a checkpoint', async () => {
    const storage = await lake();
    const reports: CompactionProgress[] = [];
    const res = await compactPartition({ storage, duckdb }, rawTable, P, { onProgress: (p) => reports.push(p) });
    const stages = reports.map((r) => r.stage).filter((s, i, all) => s !== all[i - 1]);
    expect(stages).toEqual(['plan', 'fetch', 'rewrite', 'upload', 'commit', 'done']);
    const fetched = reports.filter((r) => r.stage === 'fetch').at(-1)!;
    expect(fetched.files).toEqual({ done: 5, total: 5 });
    expect(fetched.bytes.done).toBe(fetched.bytes.total);
    expect(fetched.rows.total).toBe(1500);
    const commit = reports.find((r) => r.stage === 'commit')!;
    expect(commit.checkpoint!.outputs.map((f) => f.path)).toEqual(res.outputFiles);
    expect(commit.checkpoint!.inputFiles).toEqual(res.inputFiles);
    expect(commit.bytes.done).toBe(commit.bytes.total);
    // Each report is a snapshot: later ones do not change earlier ones.
    expect(reports[0]!.files.total).toBe(0);
  });

  it('a retry after a crash before the commit resumes from the checkpoint: no fetch, no rewrite, one commit', async () => {
    const storage = await lake();
    const last = await crashAt(storage, 'before-commit');
    expect(last.stage).toBe('commit');
    expect(await replaceCommits(storage)).toBe(0);

    const stages = new Set<string>();
    const res = await compactPartition({ storage, duckdb }, rawTable, P, {
      resume: last,
      onProgress: (p) => stages.add(p.stage),
    });
    expect(res).toMatchObject({ status: 'committed', resumed: true, rowsIn: 1500, rowsOut: 1200 });
    expect(res.outputFiles).toEqual(last.checkpoint!.outputs.map((f) => f.path));
    expect([...stages]).toEqual(['plan', 'commit', 'done']);
    expect(await replaceCommits(storage)).toBe(1);
    const all = await ids(storage);
    expect(all).toHaveLength(1200);
    expect(new Set(all).size).toBe(1200);
  });

  it('a checkpoint whose outputs are gone, or of another plan, is not trusted: the retry rewrites', async () => {
    const storage = await lake();
    const last = await crashAt(storage, 'before-commit');
    await storage.delete(last.checkpoint!.outputs[0]!.path);
    const stages = new Set<string>();
    const res = await compactPartition({ storage, duckdb }, rawTable, P, {
      resume: last,
      onProgress: (p) => stages.add(p.stage),
    });
    expect(res.status).toBe('committed');
    expect(res.resumed).toBeUndefined();
    expect(stages.has('rewrite')).toBe(true);
    expect(new Set(await ids(storage)).size).toBe(1200);

    // Another plan: a file landed after the checkpoint, so the input set (and the output names) differ.
    const other = await lake();
    const stale = await crashAt(other, 'before-commit');
    await seed(other, 1, 10_000);
    const again = await compactPartition({ storage: other, duckdb }, rawTable, P, { resume: stale });
    expect(again).toMatchObject({ status: 'committed', rowsIn: 1800, rowsOut: 1500 });
    expect(again.resumed).toBeUndefined();
    expect(again.outputFiles).not.toEqual(stale.checkpoint!.outputs.map((f) => f.path));

    // Outputs uploaded long ago (orphan cleanup could delete them before the commit) are rewritten, not reused.
    const t = await tempStorage();
    cleanups.push(t.cleanup);
    await seed(t.storage);
    const old = await crashAt(t.storage, 'before-commit');
    const longAgo = new Date(Date.now() - 7 * 3_600_000);
    for (const f of old.checkpoint!.outputs) await utimes(join(t.dir, f.path), longAgo, longAgo);
    const rewritten = await compactPartition({ storage: t.storage, duckdb }, rawTable, P, { resume: old });
    expect(rewritten.status).toBe('committed');
    expect(rewritten.resumed).toBeUndefined();
  });

  it('a retry after a crash past the commit reports that commit, proved by the manifest, and commits nothing', async () => {
    const storage = await lake();
    const last = await crashAt(storage, 'after-commit');
    expect(await replaceCommits(storage)).toBe(1);
    const seq = (await loadSnapshot(storage, 'raw'))!.seq;
    const res = await compactPartition({ storage, duckdb }, rawTable, P, { resume: last });
    expect(res).toMatchObject({ status: 'committed', resumed: true, seq, rowsIn: 1500, rowsOut: 1200 });
    expect(await replaceCommits(storage)).toBe(1);
    // Without the checkpoint the same retry can only say there is nothing to do.
    expect((await compactPartition({ storage, duckdb }, rawTable, P)).status).toBe('nothing_to_do');
    // A checkpoint for another partition proves nothing here.
    const elsewhere = { ...last, partition: partitionOf(T0 + 7_200_000_000) };
    expect((await compactPartition({ storage, duckdb }, rawTable, P, { resume: elsewhere })).status).toBe(
      'nothing_to_do',
    );
  });
});

describe('vacuum progress', () => {
  it('reports expiry then orphans, and a resume past the expiry skips it', async () => {
    const t = await tempStorage();
    try {
      await seed(t.storage);
      await compactPartition({ storage: t.storage, duckdb }, rawTable, P);
      const later = Date.now() + 3_600_000;
      const reports: VacuumProgress[] = [];
      const r = await vacuumTable({ storage: t.storage }, 'raw', {
        keepLast: 1,
        graceMs: 0,
        now: later,
        onProgress: (p) => reports.push(p),
      });
      expect(r.expiredSnapshots).toBe(5); // the five appends; the compaction's snapshot is kept
      expect(r.orphans.filter((k) => k.endsWith('.parquet'))).toHaveLength(5); // the replaced inputs
      expect(reports.map((p) => p.stage).filter((s, i, all) => s !== all[i - 1])).toEqual([
        'expire',
        'orphans',
        'done',
      ]);
      expect(reports.at(-1)!.orphans).toEqual({ done: r.orphans.length, total: r.orphans.length });

      const stages = new Set<string>();
      const again = await vacuumTable({ storage: t.storage }, 'raw', {
        keepLast: 1,
        graceMs: 0,
        now: later,
        resume: { ...reports.at(-1)!, stage: 'orphans' },
        onProgress: (p) => stages.add(p.stage),
      });
      expect(again).toMatchObject({ expiredSnapshots: 5, orphans: [], resumed: true });
      expect(stages.has('expire')).toBe(false);
      expect(new Set(await ids(t.storage)).size).toBe(1200);
    } finally {
      await t.cleanup();
    }
  });
});
