import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { MEMORY_SIZE } from '../core/config.ts';
import { TickLakeError } from '../core/errors.ts';

/**
 * An embedded DuckDB, opened on first use, for the lake work that a vectorized engine does far faster than JS (the
 * compaction rewrite, docs/DECISIONS.md §15). Its settings belong to the handle, not to the process: whoever
 * composes the program (the CLI, the Temporal worker, a bench, a test) creates one and passes it to compaction, so
 * two differently configured compactions can run side by side (docs/DECISIONS.md §22).
 *
 * - `threads` (default: min(2, cores)) bounds the CPU it takes from everything else in the process;
 * - `memoryLimit` (default 1GB): sorts and joins over more than that spill to a private directory under `tempDir`
 *   (default: the OS temp directory; DuckDB's own defaults would be 80% of RAM, and `.tmp` in the working directory);
 * - extensions are never installed or auto-loaded: only the built-in Parquet reader/writer is used, so nothing is
 *   downloaded at run time.
 *
 * Every job gets its own connection (temp tables are per connection); `close` waits for running jobs, closes the
 * instance and removes the spill directory. The process may also exit without it.
 */
export interface DuckDbSettings {
  threads?: number;
  /** DuckDB size syntax: '1GB', '512MB', '2GiB'. */
  memoryLimit?: string;
  /** Parent of the private spill directory. */
  tempDir?: string;
}

interface Engine {
  db: DuckDBInstance;
  spillDir: string;
  removeOnExit: () => void;
}

function checked(next: DuckDbSettings): Required<DuckDbSettings> {
  const threads = next.threads ?? Math.max(1, Math.min(2, availableParallelism()));
  const memoryLimit = next.memoryLimit ?? '1GB';
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new TickLakeError('INPUT_INVALID', `duckdb threads must be an integer in [1, 256], got ${threads}`);
  }
  if (!MEMORY_SIZE.test(memoryLimit)) {
    throw new TickLakeError(
      'INPUT_INVALID',
      `duckdb memory limit must look like '1GB' or '512MiB', got ${memoryLimit}`,
    );
  }
  return { threads, memoryLimit, tempDir: next.tempDir ?? tmpdir() };
}

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** A memory size in bytes (DuckDB reads KB/MB/GB as powers of 1000, KiB/MiB/GiB as powers of 1024). */
export function memorySizeBytes(size: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(size);
  const unit = m && UNITS[m[2]!.toLowerCase()];
  if (!unit) throw new TickLakeError('INPUT_INVALID', `not a memory size: ${size}`);
  return Number(m[1]) * unit;
}

export class DuckDb {
  readonly settings: Readonly<Required<DuckDbSettings>>;
  /** The memory limit in bytes. */
  readonly memoryLimitBytes: number;
  private engine: Promise<Engine> | null = null;
  private readonly running = new Set<Promise<unknown>>();

  /** Validates the settings (INPUT_INVALID); opens nothing until the first job. */
  constructor(settings: DuckDbSettings = {}) {
    this.settings = Object.freeze(checked(settings));
    this.memoryLimitBytes = memorySizeBytes(this.settings.memoryLimit);
  }

  private async open(): Promise<Engine> {
    // DuckDB creates the directory only when it spills; it is removed on close and at process exit.
    const spillDir = join(this.settings.tempDir, `ticklake-duckdb-${process.pid}-${randomBytes(4).toString('hex')}`);
    const db = await DuckDBInstance.create(':memory:', {
      threads: String(this.settings.threads),
      memory_limit: this.settings.memoryLimit,
      temp_directory: spillDir,
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    });
    const removeOnExit = () => rmSync(spillDir, { recursive: true, force: true });
    process.once('exit', removeOnExit);
    return { db, spillDir, removeOnExit };
  }

  /** Runs `fn` on a fresh connection of this instance, closing the connection afterwards. */
  run<T>(fn: (con: DuckDBConnection) => Promise<T>): Promise<T> {
    if (!this.engine) {
      const opening = this.open();
      this.engine = opening;
      opening.catch(() => {
        if (this.engine === opening) this.engine = null;
      });
    }
    const current = this.engine;
    const job = (async () => {
      const con = await (await current).db.connect();
      try {
        return await fn(con);
      } finally {
        con.closeSync();
      }
    })();
    this.running.add(job);
    void job.finally(() => this.running.delete(job)).catch(() => undefined);
    return job;
  }

  /** Waits for running jobs, then closes the instance; the next `run` opens a new one with the same settings. */
  async close(): Promise<void> {
    const current = this.engine;
    if (!current) return;
    this.engine = null;
    await Promise.allSettled([...this.running]);
    const e = await current.catch(() => null);
    if (!e) return;
    e.db.closeSync();
    process.removeListener('exit', e.removeOnExit);
    await rm(e.spillDir, { recursive: true, force: true });
  }
}

/**
 * The default-settings instance the warehouse's file-schema check reads footers with (no sort, nothing to tune).
 * Lake maintenance never uses it: compaction takes its DuckDb as a dependency.
 */
const shared = new DuckDb();

export function withDuckDb<T>(fn: (con: DuckDBConnection) => Promise<T>): Promise<T> {
  return shared.run(fn);
}

export function closeDuckDb(): Promise<void> {
  return shared.close();
}

/** A SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** A quoted SQL identifier. */
export function sqlIdent(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}
