import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Tick } from '../../../core/schemas/tick.ts';
import { FsStorage } from '../../../lake/storage/fs.ts';
import type { ListOptions, ObjectInfo, Storage } from '../../../lake/storage/storage.ts';

/** 2024-03-01T10:00:00Z in µs. */
export const T0 = Date.UTC(2024, 2, 1, 10) * 1000;
export const SYMBOLS = ['AAPL', 'MSFT', 'NVDA', 'TSLA'];

/** Deterministic ticks: every third a quote, spread over `spanUs` from `startUs`. */
export function makeTicks(
  n: number,
  opts: { startUs?: number; spanUs?: number; seq0?: number; symbols?: string[] } = {},
): Tick[] {
  const start = opts.startUs ?? T0;
  const span = opts.spanUs ?? 60_000_000;
  const symbols = opts.symbols ?? SYMBOLS;
  const out: Tick[] = [];
  for (let i = 0; i < n; i++) {
    const seq = (opts.seq0 ?? 0) + i;
    const symbol = symbols[seq % symbols.length]!;
    const ts = start + Math.floor((i * span) / Math.max(1, n));
    const base = { v: 1 as const, id: `syn:${symbol}:${seq}`, source: 'syn', symbol, seq, ts, recvTs: ts + 1500 };
    out.push(
      seq % 3 === 2
        ? {
            ...base,
            type: 'quote',
            bid: 100 + (seq % 50) / 7,
            bidSize: 100,
            ask: 100.25 + (seq % 50) / 7,
            askSize: 200,
          }
        : {
            ...base,
            type: 'trade',
            price: 100.125 + (seq % 50) / 7,
            size: 1 + (seq % 9),
            exchange: seq % 2 ? 'XNAS' : undefined,
            conditions: seq % 5 === 0 ? ['@', 'T'] : undefined,
          },
    );
  }
  return out;
}

export async function tempStorage(): Promise<{ storage: FsStorage; dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ticklake-lake-'));
  return { storage: new FsStorage(dir), dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A real FsStorage that claims no atomic create-if-absent (like versitygw) and yields at random between
 * operations, so concurrent committers interleave and the consensus path gets exercised.
 */
export class NonAtomicStorage implements Storage {
  readonly atomicPutIfAbsent = false;
  readonly description: string;
  constructor(
    private readonly inner: Storage,
    private readonly jitterMs = 3,
  ) {
    this.description = `non-atomic ${inner.description}`;
  }
  private pause(): Promise<void> {
    return new Promise((r) => setTimeout(r, Math.random() * this.jitterMs));
  }
  async get(key: string) {
    await this.pause();
    return this.inner.get(key);
  }
  async getRange(key: string, start: number, end: number) {
    await this.pause();
    return this.inner.getRange(key, start, end);
  }
  async put(key: string, body: Uint8Array | string) {
    await this.pause();
    await this.inner.put(key, body);
  }
  async putIfAbsent(key: string, body: Uint8Array | string) {
    // Check-then-write, the race versitygw has: deliberately not atomic.
    if (await this.inner.head(key)) return false;
    await this.pause();
    await this.inner.put(key, body);
    return true;
  }
  async head(key: string) {
    await this.pause();
    return this.inner.head(key);
  }
  async list(prefix: string, opts?: ListOptions): Promise<ObjectInfo[]> {
    await this.pause();
    return this.inner.list(prefix, opts);
  }
  async delete(key: string) {
    await this.pause();
    await this.inner.delete(key);
  }
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** What every backend's getRange and list(startAfter) must do (FsStorage in unit tests, S3Storage on versitygw). */
export async function expectPartialReads(storage: Storage, key: string): Promise<void> {
  const body = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
  await storage.put(key, body);
  expect(await storage.getRange(key, 0, 10)).toEqual(body.subarray(0, 10));
  expect(await storage.getRange(key, 990, 1000)).toEqual(body.subarray(990));
  expect(await storage.getRange(key, 500, 1200)).toEqual(body.subarray(500));
  expect(await storage.getRange(key, 1000, 1010)).toEqual(new Uint8Array(0));
  expect(await storage.getRange(`${key}.missing`, 0, 10)).toBeNull();
  await expect(storage.getRange(key, 10, 10)).rejects.toThrow(/invalid byte range/);
  await expect(storage.getRange(key, -1, 10)).rejects.toThrow(/invalid byte range/);
  const dir = `${key}.list/`;
  for (const name of ['00001.json', '00002.json', '00010.json']) await storage.put(`${dir}${name}`, name);
  const after = async (startAfter: string) =>
    (await storage.list(dir, { startAfter })).map((o) => o.key.slice(dir.length));
  expect(await after(`${dir}00002.json`)).toEqual(['00010.json']);
  expect(await after(`${dir}00002`)).toEqual(['00002.json', '00010.json']);
  expect(await after(`${dir}99`)).toEqual([]);
  expect(await after('')).toEqual(['00001.json', '00002.json', '00010.json']);
}
