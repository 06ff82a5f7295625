import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { compactPartition } from '../../../lake/compaction.ts';
import { partitionOf, type SourceRange } from '../../../lake/layout.ts';
import {
  committedOffsets,
  expireSnapshots,
  listSnapshotSeqs,
  loadSnapshot,
  removeOrphans,
} from '../../../lake/manifest.ts';
import { lakeStats, readRows, scanColumns } from '../../../lake/reader.ts';
import { decideSlot } from '../../../lake/slot.ts';
import { S3Storage } from '../../../lake/storage/s3.ts';
import { enrichedTable, rawTable } from '../../../lake/tables.ts';
import { enrichedTickSchema, type EnrichedTick } from '../../../core/schemas/enriched.ts';
import type { RangedReadStats } from '../../../lake/ranged-object.ts';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LakeWriter } from '../../../lake/writer.ts';
import { testStackConfig } from '../../support/stack.ts';
import { T0, expectPartialReads, makeTicks } from '../../unit/lake/fixtures.ts';

const config = testStackConfig();
const prefix = `it-lake-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}/`;
const storage = new S3Storage(config.s3, {
  prefix,
  multipartThresholdBytes: 6 * 1024 * 1024,
  partSizeBytes: 5 * 1024 * 1024,
});

const range = (partition: number, start: number, end: number): SourceRange => ({
  topic: 'ticks.raw',
  partition,
  startOffset: String(start),
  endOffset: String(end),
});

afterAll(async () => {
  for (const o of await storage.list('')) await storage.delete(o.key);
  storage.client.destroy();
});

describe('S3 storage on the test stack (versitygw)', () => {
  it('puts, gets, heads, lists by prefix and deletes', async () => {
    await storage.put('a/one.txt', 'one');
    await storage.put('a/two.txt', new Uint8Array([1, 2, 3]));
    await storage.put('b/three.txt', 'three');
    expect(new TextDecoder().decode((await storage.get('a/one.txt'))!)).toBe('one');
    expect(await storage.get('a/missing')).toBeNull();
    expect(await storage.head('a/two.txt')).toMatchObject({ key: 'a/two.txt', size: 3 });
    expect(await storage.head('a/missing')).toBeNull();
    expect((await storage.list('a/')).map((o) => o.key)).toEqual(['a/one.txt', 'a/two.txt']);
    await storage.delete('a/one.txt');
    await storage.delete('a/one.txt');
    expect((await storage.list('a/')).map((o) => o.key)).toEqual(['a/two.txt']);
  });

  it('reads byte ranges and lists from a key', async () => {
    await expectPartialReads(storage, 'ranges/blob.bin');
  });

  it('uploads large bodies as multipart and reads them back intact', async () => {
    const body = randomBytes(11 * 1024 * 1024);
    await storage.put('big/blob.bin', body);
    const head = await storage.client.send(
      new HeadObjectCommand({ Bucket: config.s3.bucket, Key: `${prefix}big/blob.bin` }),
    );
    expect(head.ETag).toMatch(/-3"$/); // three parts
    expect(Buffer.from((await storage.get('big/blob.bin'))!).equals(body)).toBe(true);
  });

  it('honours If-None-Match sequentially, but is not trusted as atomic', async () => {
    expect(await storage.putIfAbsent('cond/x.json', '1')).toBe(true);
    expect(await storage.putIfAbsent('cond/x.json', '2')).toBe(false);
    expect(new TextDecoder().decode((await storage.get('cond/x.json'))!)).toBe('1');
    // versitygw 1.7 let two of 24 racing conditional PUTs both succeed (bench/lake-s3-conditional.bench.ts).
    expect(storage.atomicPutIfAbsent).toBe(false);
  });

  it('decides one value among racing proposers with the consensus fallback', async () => {
    const keys = { finalKey: 'slot/1.json', blockPrefix: 'slot/1.paxos/' };
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => decideSlot(storage, keys, `v${i}`)));
    expect(new Set(results.map((r) => r.value)).size).toBe(1);
    expect(results.filter((r) => r.won)).toHaveLength(1);
  });
});

describe('lake on S3: write, commit, compact, read', () => {
  it('runs the full cycle with racing committers and keeps every row exactly once', async () => {
    const lake = new LakeWriter(storage);
    const batches = Array.from({ length: 4 }, (_, i) => ({
      ticks: makeTicks(500, { seq0: i * 500, spanUs: 3_000_000_000 }),
      range: range(i % 2, Math.floor(i / 2) * 500, Math.floor(i / 2) * 500 + 499),
    }));
    const entries = await Promise.all(batches.map((b) => lake.writeFile(rawTable, b.ticks, b.range)));
    // Committed in two racing pairs: partition 0 and 1 each get their ranges in offset order.
    await Promise.all([lake.commit(rawTable, entries[0]!), lake.commit(rawTable, entries[1]!)]);
    await Promise.all([lake.commit(rawTable, entries[2]!), lake.commit(rawTable, entries[3]!)]);
    // A sink restarted after its commit replays a range: no-op.
    expect((await lake.commit(rawTable, entries[0]!)).status).toBe('noop');

    const offsets = await committedOffsets(storage, 'raw');
    expect(offsets.sort((a, b) => a.partition - b.partition)).toEqual([
      { topic: 'ticks.raw', partition: 0, nextOffset: '1000' },
      { topic: 'ticks.raw', partition: 1, nextOffset: '1000' },
    ]);
    expect((await lakeStats(storage, 'raw')).total).toMatchObject({ files: 4, rows: 2000 });

    const compacted = await compactPartition(storage, rawTable, partitionOf(T0));
    expect(compacted).toMatchObject({ status: 'committed', rowsOut: 2000 });
    let rows = 0;
    const ids = new Set<string>();
    for await (const c of scanColumns(storage, rawTable, { symbols: ['AAPL', 'NVDA'] })) {
      rows += c.id!.length;
      for (const id of c.id!) ids.add(id as string);
    }
    expect(rows).toBe(1000);
    expect(ids.size).toBe(1000);

    // Everything older than "now + 1 h" is eligible: only the latest snapshot and its files survive.
    const later = Date.now() + 3600_000;
    await expireSnapshots(storage, 'raw', { keepLast: 1, maxAgeMs: 0, now: later });
    expect(await listSnapshotSeqs(storage, 'raw')).toHaveLength(1);
    const removed = await removeOrphans(storage, 'raw', { graceMs: 0, now: later });
    expect(removed.filter((k) => k.endsWith('.parquet'))).toHaveLength(4);
    const snap = (await loadSnapshot(storage, 'raw'))!;
    expect(snap.days![0]!.rows).toBe(2000);
    let after = 0;
    for await (const c of scanColumns(storage, rawTable)) after += c.id!.length;
    expect(after).toBe(2000);
  });
});

describe("the batch path's reads on S3: typed rows, projection, changes since a snapshot", () => {
  const BIN = fileURLToPath(new URL('../../../bin/ticklake.mjs', import.meta.url));
  const cli = (...args: string[]) =>
    new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(
        process.execPath,
        [BIN, '--profile', 'test', 'lake', ...args],
        { env: { ...process.env, TICKLAKE_S3_LAKE_PREFIX: prefix, TICKLAKE_LOG_LEVEL: 'warn' } },
        (err, stdout) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout }),
      ),
    );
  // makeTicks spells absent optional fields as undefined; a row read back has no such field.
  const enrich = (i: number, t: ReturnType<typeof makeTicks>[number]): EnrichedTick => ({
    ...(JSON.parse(JSON.stringify(t)) as typeof t),
    ev: 1,
    name: i % 3 ? 'Apple Inc.' : null,
    sector: 'Tech',
    currency: 'USD',
    listingExchange: null,
    mid: t.type === 'quote' ? (t.bid + t.ask) / 2 : null,
    spreadBps: null,
    logReturn: i % 2 ? 0.001 * i : null,
    sessionVwap: 100 + i / 1000,
    ewmaVol: null,
    processedTs: t.ts + 10,
  });

  it('reads typed, deduplicated rows by ranged GETs of the chosen columns, and lists what changed', async () => {
    const lake = new LakeWriter(storage, { rowGroupRows: 2000 });
    const rows = makeTicks(6000, { spanUs: 3_000_000_000 }).map((t, i) => enrich(i, t));
    const first = await lake.commit(
      enrichedTable,
      await lake.writeFile(enrichedTable, rows.slice(0, 4000), range(0, 0, 3999)),
    );
    // The next batch redelivers 1000 rows of the first and reaches into the next hour.
    const later = makeTicks(1000, { seq0: 6000, startUs: T0 + 3600_000_000 }).map((t, i) => enrich(i, t));
    await lake.commit(
      enrichedTable,
      await lake.writeFile(enrichedTable, [...rows.slice(3000), ...later], range(0, 4000, 7999)),
    );

    const read = [];
    for await (const p of readRows(storage, enrichedTable)) read.push(...p.rows);
    expect(read).toHaveLength(7000);
    const byId = new Map([...rows, ...later].map((r) => [r.id, r]));
    for (const r of read) {
      expect(r).toStrictEqual(byId.get(r.id));
      expect(enrichedTickSchema.safeParse(r).success).toBe(true);
    }

    const bytes = async (columns?: string[]) => {
      const stats: RangedReadStats = { requests: 0, bytes: 0 };
      for await (const _ of scanColumns(storage, enrichedTable, { columns }, stats));
      return stats.bytes;
    };
    // Small files: the 64 KiB tail read on open is much of each; the unit test and the bench show the ratio.
    expect(await bytes(['price', 'size'])).toBeLessThan((await bytes()) * 0.8);

    const since = await cli('changes', 'enriched', '--since', String(first.seq), '--json');
    expect(since.code).toBe(0);
    const res = JSON.parse(since.stdout) as { status: string; partitions: { partition: string; change: string }[] };
    expect(res.partitions.map((p) => [p.partition, p.change])).toEqual([
      [partitionOf(T0), 'changed'],
      [partitionOf(T0 + 3600_000_000), 'added'],
    ]);
    const cat = await cli('cat', 'enriched', '--columns', 'mid', '--limit', '2');
    expect(Object.keys(JSON.parse(cat.stdout.split('\n')[0]!) as object)).toEqual(['id', 'symbol', 'ts', 'mid']);

    await expireSnapshots(storage, 'enriched', { keepLast: 1, maxAgeMs: 0, now: Date.now() + 3600_000 });
    const expired = await cli('changes', 'enriched', '--since', String(first.seq));
    expect(expired.code).toBe(1);
  }, 60_000);
});
