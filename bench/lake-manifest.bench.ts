/**
 * The cost of finding a table's latest snapshot on the test stack's S3 server (versitygw) as retained snapshots
 * accumulate (a sink commits every few seconds; `lake vacuum` expires them after a day): loadSnapshot and an
 * append commit from a process that has seen the table before (lists from the last snapshot it saw) next to a
 * fresh process (lists every snapshot), in the same run. Needs the test stack.
 *
 *   node --import tsx bench/lake-manifest.bench.ts [snapshots 2000] [samples 15]
 */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../core/config.ts';
import { testStackProfile } from '../infra/stack/profile.ts';
import { commit, loadSnapshot } from '../lake/manifest.ts';
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
printTable(`lake manifest bench: ${SNAPSHOTS}+ retained snapshots on versitygw, median ms of ${SAMPLES}`, rows);
process.exit(0);
