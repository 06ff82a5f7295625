/** Small helpers the drivers share: chunking by bytes, a bounded send window, the installed version of a package. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** Records per `send` in the produce workload, and how many sends may be outstanding at once. */
export const PRODUCE_CHUNK = 10_000;
export const PRODUCE_WINDOW = 4;
/**
 * Fetch sizes of every consumer: at most 1 MiB per partition (Java's default) and 16 MiB per fetch, the broker
 * answering after 100 ms at the latest. A transform forwards its batch (at most about one partition fetch) in sends
 * of at most FORWARD_CHUNK_BYTES, counted as value + RECORD_OVERHEAD_BYTES per record: large enough that a batch
 * goes out in one send, below the broker's message.max.bytes of 2 MiB per record batch.
 */
export const FETCH_MAX_BYTES = 16 << 20;
export const FETCH_MAX_BYTES_PER_PARTITION = 1 << 20;
export const FETCH_MAX_WAIT_MS = 100;
export const FORWARD_CHUNK_BYTES = 1.5 * (1 << 20);
export const RECORD_OVERHEAD_BYTES = 40;

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Splits `items` into runs whose summed `bytes` stay at or under `max` (a single larger item is a run of its own). */
export function chunksByBytes<T>(items: T[], bytes: (item: T) => number, max: number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    const b = bytes(item);
    if (current.length > 0 && size + b > max) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += b;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Runs `fn` over `items` in order with at most `window` calls outstanding; rejects on the first failure. */
export async function inWindow<T>(items: T[], window: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  const pending = new Set<Promise<unknown>>();
  let failure: unknown;
  for (const item of items) {
    if (failure !== undefined) break;
    const p: Promise<unknown> = fn(item).then(
      () => pending.delete(p),
      (err: unknown) => {
        failure ??= err;
        pending.delete(p);
      },
    );
    pending.add(p);
    if (pending.size >= window) await Promise.race(pending);
  }
  await Promise.all(pending);
  if (failure !== undefined) throw failure;
}

/** The version in `pkg`'s package.json, resolved from `fromUrl` (the driver's own module URL). */
export function packageVersion(pkg: string, fromUrl: string): string {
  const require = createRequire(fromUrl);
  let dir = require.resolve(pkg);
  // Walk up from the entry point to the package's own package.json (exports may hide `pkg/package.json`).
  for (;;) {
    const parent = dir.slice(0, dir.lastIndexOf('/'));
    if (parent === dir || parent === '') break;
    dir = parent;
    try {
      const json = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')) as { name?: string; version?: string };
      if (json.name === pkg && json.version) return json.version;
    } catch {
      // not a package root
    }
  }
  return 'unknown';
}
