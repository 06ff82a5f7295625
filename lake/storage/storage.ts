import { TickLakeError } from '../../core/errors.ts';
/**
 * The object store the lake lives in: S3 in production, a directory for unit tests and embedded use.
 * Keys are `/`-separated and relative to the backend's root (bucket + prefix, or directory).
 *
 * `atomicPutIfAbsent` says whether `putIfAbsent` is a real compare-and-set under concurrency. The manifest
 * uses it directly when true and falls back to a consensus protocol over single-writer keys when false
 * (see lake/slot.ts): an S3 server may accept `If-None-Match: *` yet not enforce it atomically.
 */
export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
}

export interface ListOptions {
  startAfter?: string;
}

export interface Storage {
  readonly description: string;
  readonly atomicPutIfAbsent: boolean;
  /** The object's bytes, or null when there is none. */
  get(key: string): Promise<Uint8Array | null>;
  /**
   * Bytes [start, end) of the object (fewer when it is shorter), or null when there is none. Lets readers fetch
   * a Parquet footer and the row groups they need instead of whole files.
   */
  getRange(key: string, start: number, end: number): Promise<Uint8Array | null>;
  /** Creates or replaces; readers see the old or the new object, never a partial one. */
  put(key: string, body: Uint8Array | string): Promise<void>;
  /** Creates only when absent; false when the key already existed. See atomicPutIfAbsent. */
  putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean>;
  head(key: string): Promise<ObjectInfo | null>;
  /**
   * Every object whose key starts with `prefix`, sorted by key; with `startAfter`, only keys sorting after it
   * (S3's StartAfter: the store skips the rest, so listing the tail of a long prefix stays one request).
   */
  list(prefix: string, opts?: ListOptions): Promise<ObjectInfo[]>;
  /** Removes the object; removing a missing key is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Only for stores that keep objects as local files: the file of `key`, for tools (DuckDB) to read in place
   * instead of through a copy. Read-only use; objects are replaced by rename, never changed in place.
   */
  localPath?(key: string): string;
}

export function bodyBytes(body: Uint8Array | string): Uint8Array {
  return typeof body === 'string' ? new TextEncoder().encode(body) : body;
}

export function checkRange(start: number, end: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end <= start) {
    throw new TickLakeError('INTERNAL', `invalid byte range [${start}, ${end})`);
  }
}

export function checkKey(key: string): string {
  if (key === '' || key.startsWith('/') || key.split('/').some((p) => p === '..' || p === '.')) {
    throw new TickLakeError('INTERNAL', `invalid object key: ${JSON.stringify(key)}`);
  }
  return key;
}
