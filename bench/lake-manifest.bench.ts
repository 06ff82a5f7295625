/**
 * The cost of finding a table's latest snapshot on the test stack's S3 server (versitygw) as retained snapshots
 * accumulate (a sink commits every few seconds; `lake vacuum` expires them after a day): loadSnapshot and an
 * append commit from a process that has seen the table before (lists from the last snapshot it saw) next to a
 * fresh process (lists every snapshot), in the same run. Also the size of the snapshot after a year of hourly
 * partitions (a local store): one ref per day vs the inline partition refs format 1 kept. Needs the test stack.
 *
 *   node --import tsx bench/lake-manifest.bench.ts [snapshots 2000] [samples 15]
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../infra/config.ts';
import { testStackProfile } from '../infra/stack/profile.ts';
import { commit, loadSnapshot, snapshotKey, snapshotPartitions } from '../lake/manifest.ts';
import { FsStorage } from '../lake/storage/fs.ts';
import { S3Storage } from '../lake/storage/s3.ts';
import { rawTable, storedSchema } from '../lake/tables.ts';
import { median, printTable } from './support.ts';

const SNAPSHOTS = Number(process.argv[2] ?? 2000);
const SAMPLES = Number(process.argv[3] ?? 15);
const config = loadConfig({ profile: testStackProfile() });
const prefix = `bench-manifest-${randomBytes(4).toString('hex')}/`;
const open = () => new S3Storage(config.s3, { prefix });
const schema = storedSchema(rawTable);
// Commits that only advance an offset: the snapshot count grows, the data does not.
let offset = 0;
const advance = () => ({
  kind: 'append' as const,
  entries: [],
  ranges: [{ topic: 't', partition: 0, startOffset: String(offset), endOffset: String(offset++) }],
});

const seen = open();
for (let i = 0; i < SNAPSHOTS; i++) await commit(seen, 'raw', schema, advance());

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}
const loadSeen: number[] = [];
const loadFresh: number[] = [];
const commitSeen: number[] = [];
const commitFresh: number[] = [];
for (let i = 0; i < SAMPLES; i++) {
  loadSeen.push(await timed(() => loadSnapshot(seen, 'raw')));
  const fresh = open();
  loadFresh.push(await timed(() => loadSnapshot(fresh, 'raw')));
  fresh.client.destroy();
  commitSeen.push(await timed(() => commit(seen, 'raw', schema, advance())));
  const fresh2 = open();
  commitFresh.push(await timed(() => commit(fresh2, 'raw', schema, advance())));
  fresh2.client.destroy();
}
for (const o of await seen.list('')) await seen.delete(o.key);
seen.client.destroy();

const rows: Array<[string, number, number, string]> = [
  ['latest snapshot, listing from the last seen', median(loadSeen), median(loadFresh), 'listing every snapshot'],
  ['append commit, listing from the last seen', median(commitSeen), median(commitFresh), 'listing every snapshot'],
];
// A year of hourly partitions, one file each: the entries are described, not written (only the manifest is measured).
const dir = await mkdtemp(join(tmpdir(), 'bench-manifest-'));
const fs = new FsStorage(dir);
const T0 = Date.UTC(2025, 0, 1) * 1000;
const entries = Array.from({ length: 365 * 24 }, (_, h) => {
  const ts = T0 + h * 3_600_000_000;
  const d = new Date(ts / 1000);
  const partition = `dt=${d.toISOString().slice(0, 10)}/hour=${String(d.getUTCHours()).padStart(2, '0')}`;
  const source = { topic: 't', partition: 0, startOffset: String(h * 1000), endOffset: String(h * 1000 + 999) };
  return {
    path: `raw/${partition}/f${h}.parquet`,
    partition,
    rows: 1000,
    bytes: 100_000,
    minTs: ts,
    maxTs: ts + 3_599_000_000,
    minSymbol: 'AAPL',
    maxSymbol: 'TSLA',
    symbols: null,
    schemaVersion: 1,
    sources: [source],
    rowGroups: [{ rows: 1000, minTs: ts, maxTs: ts + 3_599_000_000, minSymbol: 'AAPL', maxSymbol: 'TSLA' }],
    addedAt: Date.now(),
  };
});
await commit(fs, 'raw', schema, { kind: 'append', entries, ranges: [] });
const yearSnap = (await loadSnapshot(fs, 'raw'))!;
const snapshotBytes = (await stat(join(dir, ...snapshotKey('raw', yearSnap.seq).split('/')))).size;
const { days: _days, ...rest } = yearSnap;
const inlineBytes = JSON.stringify({ ...rest, format: 1, partitions: await snapshotPartitions(fs, yearSnap) }).length;
await rm(dir, { recursive: true, force: true });

printTable(`lake manifest bench: ${SNAPSHOTS}+ retained snapshots on versitygw, median ms of ${SAMPLES}`, rows);
process.stdout.write(
  `snapshot after a year of hourly partitions: ${(snapshotBytes / 1024).toFixed(0)} KiB (one ref per day) vs ` +
    `${(inlineBytes / 1024).toFixed(0)} KiB with the partition refs inline (format 1)\n`,
);
process.exit(0);
