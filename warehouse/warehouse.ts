import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BigQuery, Dataset } from '@google-cloud/bigquery';
import { TickLakeError } from '../core/errors.ts';
import { mapLimit } from '../core/lanes.ts';
import {
  loadPartition,
  loadSnapshot,
  snapshotDays,
  snapshotPartitions,
  type FileEntry,
  type Snapshot,
} from '../lake/manifest.ts';
import type { Storage } from '../lake/storage/storage.ts';
import {
  dayFingerprint,
  dayOfLakeDay,
  decideLoad,
  dueDays,
  lakeDayOf,
  ledgerRowNeeded,
  type LakeDay,
  type LoadDecision,
} from './ledger.ts';
import {
  dayChecksumSql,
  ledgerEntryOf,
  ledgerInsertSql,
  ledgerLatestSql,
  replaceDayScript,
  type DatasetRef,
  type LedgerEntry,
} from './sql.ts';
import {
  LEDGER_SCHEMA,
  LEDGER_TABLE,
  parseDay,
  stagingTableId,
  tableMetadata,
  WAREHOUSE_TABLES,
  warehouseTable,
  type WarehouseTable,
} from './tables.ts';
import { checkFileSchema } from './file-schema.ts';
import { VIEWS } from './views.ts';

/**
 * The warehouse at its edges: BigQuery (datasets, tables, load and query jobs) and the lake (manifests, files).
 * Decisions come from the pure modules (tables, sql, ledger, views); this file only follows them.
 *
 * A day is loaded as: lake day -> staging table (load jobs, one per file uploaded, or one job over GCS URIs) ->
 * one transaction that deletes the day from the table and inserts the staging rows deduplicated by the lake's key
 * -> a ledger row. Every step can be repeated: a crash anywhere before the ledger row makes the retry load again,
 * and loading again gives the same rows.
 */
export interface WarehouseDeps {
  bigquery: BigQuery;
  storage: Storage;
  projectId: string;
  dataset: string;
  location: string;
  /**
   * `gs://bucket/prefix/` under which BigQuery can read the lake's object keys (the lake on GCS). Unset: each
   * file is read from the lake and uploaded.
   */
  gcsLakeUri?: string;
  /** Files uploaded into the staging table at once. */
  concurrency: number;
  /** Called between steps of a long load, for Temporal heartbeats. */
  heartbeat?: () => void;
  /**
   * Tests only: called at the named point and awaited; throwing there simulates a crash, and a test may stop a
   * server there (the worker arms them from TICKLAKE_FAILPOINT=load-<point>:<n>, SIGKILLing itself).
   */
  failpoint?: (point: LoadFailpoint) => void | Promise<void>;
}

/** Steps of a load a test can stop at: before the staging loads, after the day's replace, after the ledger row. */
export const LOAD_FAILPOINTS = ['before-stage', 'after-replace', 'after-ledger'] as const;
export type LoadFailpoint = (typeof LOAD_FAILPOINTS)[number];

export interface LoadResult {
  table: string;
  day: string;
  status: 'loaded' | 'unchanged';
  reason: LoadDecision['reason'];
  lakeSeq: number | null;
  files: number;
  lakeRows: number;
  /** Rows of the day in the table after the load (unchanged: as the ledger last recorded). */
  rows: number;
  /** Load jobs run (one per uploaded file, one for a GCS load). */
  jobs: number;
}

export interface ApplyChange {
  object: string;
  action: 'created' | 'updated' | 'unchanged';
  detail?: string;
}

/** BigQuery errors -> ticklake's: a job that refused its input will refuse it again; anything else may pass later. */
function bigqueryError(err: unknown, what: string, details: Record<string, unknown> = {}): TickLakeError {
  if (err instanceof TickLakeError) return err;
  const e = err as { code?: number; message?: string; errors?: { reason?: string; message?: string }[] };
  const reasons = (e.errors ?? []).map((x) => x.reason ?? '');
  const invalid =
    reasons.some((r) => ['invalid', 'invalidQuery', 'notFound', 'duplicate'].includes(r)) ||
    (e.code !== undefined && e.code >= 400 && e.code < 500 && e.code !== 408 && e.code !== 429);
  const detail = [e.message, ...(e.errors ?? []).map((x) => x.message)].filter(Boolean).join('; ');
  return new TickLakeError(invalid ? 'INPUT_INVALID' : 'UPSTREAM_UNAVAILABLE', `${what}: ${detail}`, {
    cause: err,
    details: { ...details, reasons },
  });
}

export class Warehouse {
  readonly ref: DatasetRef;
  private readonly deps: WarehouseDeps;

  constructor(deps: WarehouseDeps) {
    this.deps = deps;
    this.ref = { projectId: deps.projectId, dataset: deps.dataset };
  }

  private get dataset(): Dataset {
    return this.deps.bigquery.dataset(this.deps.dataset, {
      projectId: this.deps.projectId,
      location: this.deps.location,
    });
  }

  async query<T = Record<string, unknown>>(sql: string, what = 'query'): Promise<T[]> {
    try {
      const [rows] = await this.deps.bigquery.query({ query: sql, location: this.deps.location });
      return rows as T[];
    } catch (err) {
      throw bigqueryError(err, what, { sql: sql.slice(0, 500) });
    }
  }

  /** The dataset, the four tables (day-partitioned, clustered), the ledger and the views; idempotent. */
  async apply(): Promise<ApplyChange[]> {
    const changes: ApplyChange[] = [];
    const ds = this.dataset;
    try {
      const [exists] = await ds.exists();
      if (!exists) {
        await this.deps.bigquery.createDataset(this.deps.dataset, { location: this.deps.location });
        changes.push({ object: this.deps.dataset, action: 'created' });
      } else changes.push({ object: this.deps.dataset, action: 'unchanged' });
      for (const t of WAREHOUSE_TABLES) changes.push(await this.applyTable(t.name, tableMetadata(t)));
      changes.push(
        await this.applyTable(LEDGER_TABLE, {
          schema: LEDGER_SCHEMA,
          description: 'ticklake load ledger: one row per load decision for a (table, day)',
        }),
      );
      // In list order: a view may read one declared before it (top_movers reads daily_ohlcv).
      for (const v of VIEWS) {
        const table = ds.table(v.name);
        const query = v.sql(this.ref);
        const [has] = await table.exists();
        if (!has) {
          await ds.createTable(v.name, { view: { query, useLegacySql: false }, description: v.description });
          changes.push({ object: v.name, action: 'created' });
          continue;
        }
        const [meta] = await table.getMetadata();
        if (meta.view?.query === query) changes.push({ object: v.name, action: 'unchanged' });
        else {
          await table.setMetadata({ view: { query, useLegacySql: false }, description: v.description });
          changes.push({ object: v.name, action: 'updated' });
        }
      }
    } catch (err) {
      throw bigqueryError(err, `warehouse apply (dataset ${this.deps.dataset})`);
    }
    return changes;
  }

  private async applyTable(
    name: string,
    meta: {
      schema: { fields: { name: string }[] };
      description: string;
      timePartitioning?: object;
      clustering?: object;
    },
  ): Promise<ApplyChange> {
    const table = this.dataset.table(name);
    const [has] = await table.exists();
    if (!has) {
      await this.dataset.createTable(name, meta);
      return { object: name, action: 'created' };
    }
    const [current] = await table.getMetadata();
    const have: string[] = (current.schema?.fields ?? []).map((f: { name: string }) => f.name);
    const want = meta.schema.fields.map((f) => f.name);
    if (have.join(',') === want.join(',')) return { object: name, action: 'unchanged' };
    // The lake only ever appends nullable columns (lake/tables.ts checkEvolution); BigQuery allows the same.
    if (want.slice(0, have.length).join(',') !== have.join(',')) {
      throw new TickLakeError(
        'SCHEMA_INCOMPATIBLE',
        `table ${name} has columns ${have.join(', ')}; the lake declares ${want.join(', ')}: only appended columns can be applied`,
        { details: { table: name } },
      );
    }
    await table.setMetadata({ schema: meta.schema });
    return { object: name, action: 'updated', detail: `added ${want.slice(have.length).join(', ')}` };
  }

  /** The latest ledger entry per day of a table. */
  async ledger(table: string, days?: readonly string[]): Promise<Map<string, LedgerEntry>> {
    const rows = await this.query(ledgerLatestSql(this.ref, table, days), `read the load ledger of ${table}`);
    return new Map(rows.map((r) => [String(r.day), ledgerEntryOf(r)]));
  }

  /** The days of a table whose lake day changed since the ledger last saw it (in `range` when given). */
  async dueDays(table: string, range: { from?: string; to?: string } = {}): Promise<string[]> {
    const t = warehouseTable(table);
    const snap = await loadSnapshot(this.deps.storage, t.def.name);
    if (!snap) return [];
    const days = snapshotDays(snap).map((d) => ({ day: dayOfLakeDay(d.day), manifest: d.manifest }));
    return dueDays(days, await this.ledger(t.name), range);
  }

  /** The days the lake holds for a table (in `range` when given). */
  async lakeDays(table: string, range: { from?: string; to?: string } = {}): Promise<string[]> {
    const t = warehouseTable(table);
    const snap = await loadSnapshot(this.deps.storage, t.def.name);
    const days = snap ? snapshotDays(snap).map((d) => dayOfLakeDay(d.day)) : [];
    return days
      .filter((d) => (range.from === undefined || d >= range.from) && (range.to === undefined || d <= range.to))
      .sort();
  }

  /** What the lake holds for one day of `t`: the files the manifest lists for it (sink files or compacted ones). */
  async lakeDay(t: WarehouseTable, day: string, snap?: Snapshot | null): Promise<{ day: LakeDay; files: FileEntry[] }> {
    const s = snap === undefined ? await loadSnapshot(this.deps.storage, t.def.name) : snap;
    const lakeDay = lakeDayOf(parseDay(day));
    const ref = s ? snapshotDays(s).find((d) => d.day === lakeDay) : undefined;
    const files: FileEntry[] = [];
    if (s && ref) {
      for (const p of await snapshotPartitions(this.deps.storage, s, (d) => d.day === lakeDay)) {
        files.push(...(await loadPartition(this.deps.storage, p)));
      }
    }
    files.sort((a, b) => (a.path < b.path ? -1 : 1));
    return {
      day: {
        day,
        seq: s?.seq ?? 0,
        dayManifest: ref?.manifest ?? '',
        fingerprint: dayFingerprint(files),
        files: files.length,
        rows: files.reduce((n, f) => n + f.rows, 0),
      },
      files,
    };
  }

  /** Loads one day of one table if the lake's day changed since the ledger's last entry (or always, with force). */
  async loadDay(table: string, day: string, opts: { force?: boolean } = {}): Promise<LoadResult> {
    const t = warehouseTable(table);
    parseDay(day);
    const { day: lake, files } = await this.lakeDay(t, day);
    const latest = (await this.ledger(t.name, [day])).get(day);
    const decision = decideLoad(latest, lake, opts.force);
    const base = { table: t.name, day, reason: decision.reason, lakeSeq: lake.seq || null, files: lake.files };
    if (decision.action === 'unchanged') {
      if (ledgerRowNeeded(decision, latest, lake)) await this.record(t, lake, 'unchanged', latest?.rows ?? 0);
      return { ...base, status: 'unchanged', lakeRows: lake.rows, rows: latest?.rows ?? 0, jobs: 0 };
    }
    const staging = stagingTableId(t.name, day);
    await this.deps.failpoint?.('before-stage');
    const jobs = await this.stage(t, staging, files);
    this.deps.heartbeat?.();
    await this.query(replaceDayScript(this.ref, t.def, t.name, staging, day), `replace ${t.name} day ${day}`);
    await this.deps.failpoint?.('after-replace');
    const [sum] = await this.query(dayChecksumSql(this.ref, t.def, t.name, day), `count ${t.name} day ${day}`);
    const rows = Number(sum?.row_count ?? 0);
    await this.record(t, lake, 'loaded', rows);
    await this.deps.failpoint?.('after-ledger');
    await this.dataset
      .table(staging)
      .delete()
      .catch(() => undefined); // a leftover staging table is replaced by the next load of the day
    return { ...base, status: 'loaded', lakeRows: lake.rows, rows, jobs };
  }

  private async record(t: WarehouseTable, lake: LakeDay, outcome: 'loaded' | 'unchanged', rows: number) {
    await this.query(
      ledgerInsertSql(this.ref, {
        table: t.name,
        day: lake.day,
        lakeTable: t.lake,
        lakeSeq: lake.seq,
        dayManifest: lake.dayManifest,
        fingerprint: lake.fingerprint,
        outcome,
        files: lake.files,
        lakeRows: lake.rows,
        rows,
        recordedAt: Date.now(),
      }),
      `write the load ledger for ${t.name} ${lake.day}`,
    );
  }

  /** A fresh staging table holding every row of `files`; returns the number of load jobs. */
  private async stage(t: WarehouseTable, staging: string, files: readonly FileEntry[]): Promise<number> {
    const schema = tableMetadata(t).schema;
    const table = this.dataset.table(staging);
    try {
      // Recreated, not truncated: a staging table left by a crashed attempt may hold part of that attempt's files.
      await table.delete({ ignoreNotFound: true });
      await this.dataset.createTable(staging, { schema, description: `ticklake staging for ${t.name}` });
    } catch (err) {
      throw bigqueryError(err, `create staging table ${staging}`);
    }
    const options = { sourceFormat: 'PARQUET', writeDisposition: 'WRITE_APPEND', schema } as const;
    if (this.deps.gcsLakeUri) {
      // One job for the whole day: BigQuery reads the files where they are and names a file that does not fit.
      const uris = files.map((f) => `${this.deps.gcsLakeUri}${f.path}`);
      try {
        const [job] = await table.createLoadJob(uris as never, options);
        await job.promise();
        const errors = job.metadata?.status?.errors;
        if (job.metadata?.status?.errorResult) throw Object.assign(new Error('load failed'), { errors });
      } catch (err) {
        throw bigqueryError(err, `load ${files.length} files of ${t.name} from ${this.deps.gcsLakeUri}`);
      }
      return 1;
    }
    const dir = await mkdtemp(join(tmpdir(), 'ticklake-load-'));
    try {
      await mapLimit(files, Math.max(1, this.deps.concurrency), async (f, i) => {
        const local = await this.localCopy(f, join(dir, `${i}.parquet`));
        await checkFileSchema(t.def, f.path, local);
        try {
          await table.load(local, options);
        } catch (err) {
          throw bigqueryError(err, `load ${f.path} into ${staging}`, { file: f.path });
        }
        this.deps.heartbeat?.();
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return files.length;
  }

  private async localCopy(f: FileEntry, to: string): Promise<string> {
    if (this.deps.storage.localPath) return this.deps.storage.localPath(f.path);
    const bytes = await this.deps.storage.get(f.path);
    if (!bytes) {
      throw new TickLakeError('MANIFEST_CORRUPT', `live file ${f.path} is missing from storage`, {
        details: { path: f.path },
      });
    }
    await writeFile(to, bytes);
    return to;
  }

  /** Per table: days in the lake, days loaded, days due, and the last load. */
  async status(): Promise<TableStatus[]> {
    const out: TableStatus[] = [];
    for (const t of WAREHOUSE_TABLES) {
      const snap = await loadSnapshot(this.deps.storage, t.def.name);
      const days = snap
        ? snapshotDays(snap).map((d) => ({ day: dayOfLakeDay(d.day), manifest: d.manifest, rows: d.rows }))
        : [];
      const [exists] = await this.dataset.table(LEDGER_TABLE).exists();
      const ledger = exists ? await this.ledger(t.name) : new Map<string, LedgerEntry>();
      const due = dueDays(days, ledger);
      const last = [...ledger.values()].sort((a, b) => b.recordedAt - a.recordedAt)[0];
      out.push({
        table: t.name,
        lake: t.lake,
        lakeDays: days.length,
        lakeRows: days.reduce((n, d) => n + d.rows, 0),
        loadedDays: [...ledger.values()].filter((e) => e.rows > 0).length,
        loadedRows: [...ledger.values()].reduce((n, e) => n + e.rows, 0),
        dueDays: due,
        lastLoad: last ? new Date(last.recordedAt).toISOString() : null,
      });
    }
    return out;
  }
}

export interface TableStatus {
  table: string;
  lake: string;
  lakeDays: number;
  /** Stored rows, duplicates included. */
  lakeRows: number;
  loadedDays: number;
  loadedRows: number;
  dueDays: string[];
  lastLoad: string | null;
}
