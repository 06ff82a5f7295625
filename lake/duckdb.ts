import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { MEMORY_SIZE } from '../core/config.ts';
import { TickLakeError } from '../core/errors.ts';

/**
 * The one embedded DuckDB of the process, opened on first use, for the lake work that a vectorized engine
 * does far faster than JS (the compaction rewrite, docs/DECISIONS.md §15). Settings are process-wide:
 *
 * - `threads` (default: min(2, cores)) bounds the CPU it takes from everything else in the process;
 * - `memoryLimit` (default 1GB): sorts and joins over more than that spill to a private temp directory
 *   (DuckDB's default would be 80% of RAM, and `.tmp` in the working directory);
 * - extensions are never installed or auto-loaded: only the built-in Parquet reader/writer is used, so
 *   nothing is downloaded at run time.
 *
 * Every job gets its own connection (temp tables are per connection); `closeDuckDb` waits for running jobs,
 * closes the instance and removes the spill directory. The process may also exit without it.
 */
export interface DuckDbSettings {
  threads?: number;
  /** DuckDB size syntax: '1GB', '512MB', '2GiB'. */
  memoryLimit?: string;
}

interface Engine {
  db: DuckDBInstance;
  spillDir: string;
  removeOnExit: () => void;
}

let settings: Required<DuckDbSettings> = {
  threads: Math.max(1, Math.min(2, availableParallelism())),
  memoryLimit: '1GB',
};
let engine: Promise<Engine> | null = null;
const running = new Set<Promise<unknown>>();

function checked(next: DuckDbSettings): Required<DuckDbSettings> {
  const threads = next.threads ?? settings.threads;
  const memoryLimit = next.memoryLimit ?? settings.memoryLimit;
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new TickLakeError('INPUT_INVALID', `duckdb threads must be an integer in [1, 256], got ${threads}`);
  }
  if (!MEMORY_SIZE.test(memoryLimit)) {
    throw new TickLakeError(
      'INPUT_INVALID',
      `duckdb memory limit must look like '1GB' or '512MiB', got ${memoryLimit}`,
    );
  }
  return { threads, memoryLimit };
}

/** Changes the settings; applied at once when the instance is already open. */
export async function configureDuckDb(next: DuckDbSettings): Promise<void> {
  settings = checked(next);
  if (engine) {
    await withDuckDb((con) =>
      con.run(`SET threads = ${settings.threads}; SET memory_limit = ${sqlString(settings.memoryLimit)}`),
    );
  }
}

export function duckDbSettings(): Readonly<Required<DuckDbSettings>> {
  return settings;
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

/** The memory limit in bytes (DuckDB reads KB/MB/GB as powers of 1000, KiB/MiB/GiB as powers of 1024). */
export function memoryLimitBytes(): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(settings.memoryLimit)!;
  return Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
}

async function open(): Promise<Engine> {
  // DuckDB creates the directory only when it spills; it is removed on close and at process exit.
  const spillDir = join(tmpdir(), `ticklake-duckdb-${process.pid}-${randomBytes(4).toString('hex')}`);
  const db = await DuckDBInstance.create(':memory:', {
    threads: String(settings.threads),
    memory_limit: settings.memoryLimit,
    temp_directory: spillDir,
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const removeOnExit = () => rmSync(spillDir, { recursive: true, force: true });
  process.once('exit', removeOnExit);
  return { db, spillDir, removeOnExit };
}

/** Runs `fn` on a fresh connection of the process's instance, closing the connection afterwards. */
export function withDuckDb<T>(fn: (con: DuckDBConnection) => Promise<T>): Promise<T> {
  if (!engine) {
    const opening = open();
    engine = opening;
    opening.catch(() => {
      if (engine === opening) engine = null;
    });
  }
  const current = engine;
  const job = (async () => {
    const con = await (await current).db.connect();
    try {
      return await fn(con);
    } finally {
      con.closeSync();
    }
  })();
  running.add(job);
  void job.finally(() => running.delete(job)).catch(() => undefined);
  return job;
}

/** Waits for running jobs, then closes the instance; the next `withDuckDb` opens a new one. */
export async function closeDuckDb(): Promise<void> {
  const current = engine;
  if (!current) return;
  engine = null;
  await Promise.allSettled([...running]);
  const e = await current.catch(() => null);
  if (!e) return;
  e.db.closeSync();
  process.removeListener('exit', e.removeOnExit);
  await rm(e.spillDir, { recursive: true, force: true });
}

/** A SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** A quoted SQL identifier. */
export function sqlIdent(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}
