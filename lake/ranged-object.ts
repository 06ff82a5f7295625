import { TickLakeError } from '../core/errors.ts';
import type { Storage } from './storage/storage.ts';

/** Bytes fetched from the end of a file on open: the footer and page indexes of our files fit in one request. */
export const TAIL_BYTES = 64 * 1024;

export interface RangedReadStats {
  requests: number;
  bytes: number;
}

/**
 * A lake object seen as the Blob that parquet-wasm's async reader takes (`size`, `slice(start, end).arrayBuffer()`):
 * each range it asks for (the footer, then the column chunks of the row groups it reads) becomes a ranged GET, so
 * a scan fetches the row groups the manifest's statistics kept, not whole files. The tail is fetched once on open
 * and serves every request that falls inside it.
 */
export class RangedObject {
  readonly stats: RangedReadStats = { requests: 0, bytes: 0 };
  private tail: { start: number; bytes: Uint8Array } | null = null;

  private constructor(
    private readonly storage: Storage,
    readonly key: string,
    readonly size: number,
  ) {}

  /** Null when the object does not exist. `size` comes from the manifest, so no HEAD request is needed. */
  static async open(storage: Storage, key: string, size: number): Promise<RangedObject | null> {
    const obj = new RangedObject(storage, key, size);
    const start = Math.max(0, size - TAIL_BYTES);
    const bytes = await obj.fetch(start, size);
    if (!bytes) return null;
    if (bytes.length !== size - start) {
      throw new TickLakeError(
        'INPUT_INVALID',
        `object ${key} is ${start + bytes.length} bytes, the manifest says ${size}: not the file it recorded`,
      );
    }
    obj.tail = { start, bytes };
    return obj;
  }

  slice(start: number, end: number): { arrayBuffer: () => Promise<ArrayBuffer> } {
    return { arrayBuffer: () => this.read(start, end) };
  }

  private async read(start: number, end: number): Promise<ArrayBuffer> {
    const tail = this.tail;
    const bytes =
      tail && start >= tail.start
        ? tail.bytes.subarray(start - tail.start, end - tail.start)
        : await this.fetch(start, end);
    if (!bytes || bytes.length !== end - start) {
      throw new TickLakeError('UPSTREAM_UNAVAILABLE', `object ${this.key} changed or vanished while being read`);
    }
    // A copy of exactly the range: parquet-wasm takes the whole ArrayBuffer it is given.
    return bytes.slice().buffer as ArrayBuffer;
  }

  private async fetch(start: number, end: number): Promise<Uint8Array | null> {
    if (end <= start) return new Uint8Array(0);
    this.stats.requests++;
    const bytes = await this.storage.getRange(this.key, start, end);
    this.stats.bytes += bytes?.length ?? 0;
    return bytes;
  }
}
