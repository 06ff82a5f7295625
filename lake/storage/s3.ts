import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Config } from '../../core/config.ts';
import { TickLakeError } from '../../core/errors.ts';
import { bodyBytes, checkKey, checkRange, type ListOptions, type ObjectInfo, type Storage } from './storage.ts';

export interface S3StorageOptions {
  /** Key prefix inside the bucket ('' or ending in '/'), e.g. 'lake/'. */
  prefix?: string;
  /**
   * Trust the server's `If-None-Match: *` to be atomic. True for AWS S3 and MinIO; false (the default) for
   * servers that check-then-write, like versitygw 1.7 (see the lake notes): the manifest then commits
   * through lake/slot.ts's consensus over single-writer keys instead.
   */
  atomicPutIfAbsent?: boolean;
  /** Bodies at least this large go up as multipart uploads. */
  multipartThresholdBytes?: number;
  partSizeBytes?: number;
  client?: S3Client;
}

export function s3ClientFromConfig(s3: Config['s3']): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
}

export class S3Storage implements Storage {
  readonly atomicPutIfAbsent: boolean;
  readonly description: string;
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly multipartThreshold: number;
  private readonly partSize: number;

  constructor(s3: Config['s3'], opts: S3StorageOptions = {}) {
    this.client = opts.client ?? s3ClientFromConfig(s3);
    this.bucket = s3.bucket;
    this.prefix = opts.prefix ?? '';
    if (this.prefix && !this.prefix.endsWith('/'))
      throw new TickLakeError('CONFIG_INVALID', `S3 prefix must end with '/': ${this.prefix}`);
    this.atomicPutIfAbsent = opts.atomicPutIfAbsent ?? false;
    this.partSize = Math.max(5 * 1024 * 1024, opts.partSizeBytes ?? 8 * 1024 * 1024);
    this.multipartThreshold = opts.multipartThresholdBytes ?? 16 * 1024 * 1024;
    this.description = `s3://${this.bucket}/${this.prefix}`;
  }

  private k(key: string): string {
    return this.prefix + checkKey(key);
  }

  async get(key: string): Promise<Uint8Array | null> {
    return this.read(key);
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array | null> {
    checkRange(start, end);
    return this.read(key, `bytes=${start}-${end - 1}`);
  }

  private async read(key: string, range?: string): Promise<Uint8Array | null> {
    // A GET racing an overwrite of the same key can fail its checksum on some servers (versitygw pairs
    // one version's body with the other's checksum): the SDK catches it, and we read again.
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.client.send(
          new GetObjectCommand({ Bucket: this.bucket, Key: this.k(key), Range: range }),
        );
        return res.Body ? await res.Body.transformToByteArray() : new Uint8Array(0);
      } catch (err) {
        if (errName(err) === 'NoSuchKey' || httpStatus(err) === 404) return null;
        // A range that starts past the end: the object is shorter, nothing to return.
        if (range && httpStatus(err) === 416) return new Uint8Array(0);
        if (attempt < 6 && /checksum mismatch/i.test(String(err))) {
          await new Promise((r) => setTimeout(r, 10 * attempt * (0.5 + Math.random())));
          continue;
        }
        throw wrap('get', key, err);
      }
    }
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const bytes = bodyBytes(body);
    try {
      if (bytes.length >= this.multipartThreshold) {
        await new Upload({
          client: this.client,
          params: { Bucket: this.bucket, Key: this.k(key), Body: bytes },
          partSize: this.partSize,
          queueSize: 2,
          leavePartsOnError: false,
        }).done();
      } else {
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.k(key), Body: bytes }));
      }
    } catch (err) {
      throw wrap('put', key, err);
    }
  }

  async putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: this.k(key), Body: bodyBytes(body), IfNoneMatch: '*' }),
      );
      return true;
    } catch (err) {
      // 409 is what S3 answers when a concurrent conditional write to the key is in flight.
      if (httpStatus(err) === 412 || httpStatus(err) === 409) return false;
      throw wrap('putIfAbsent', key, err);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.k(key) }));
      return { key, size: res.ContentLength ?? 0, lastModified: res.LastModified ?? new Date(0) };
    } catch (err) {
      if (errName(err) === 'NotFound' || httpStatus(err) === 404) return null;
      throw wrap('head', key, err);
    }
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    const startAfter = opts.startAfter === undefined ? undefined : this.prefix + opts.startAfter;
    try {
      do {
        const res = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            ContinuationToken: token,
            StartAfter: token ? undefined : startAfter,
          }),
        );
        for (const o of res.Contents ?? []) {
          if (!o.Key || o.Key.endsWith('/')) continue;
          out.push({
            key: o.Key.slice(this.prefix.length),
            size: o.Size ?? 0,
            lastModified: o.LastModified ?? new Date(0),
          });
        }
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw wrap('list', prefix, err);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.k(key) }));
    } catch (err) {
      if (errName(err) === 'NoSuchKey' || httpStatus(err) === 404) return;
      throw wrap('delete', key, err);
    }
  }
}

function errName(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? (err as { name?: string }).name : undefined;
}

function httpStatus(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null
    ? (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
    : undefined;
}

function wrap(op: string, key: string, err: unknown): TickLakeError {
  const status = httpStatus(err);
  // Auth and request errors won't heal by retrying; everything else (network, 5xx, throttling) might.
  const permanent = status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
  return new TickLakeError(
    permanent ? 'INPUT_INVALID' : 'UPSTREAM_UNAVAILABLE',
    `S3 ${op} ${key} failed: ${errName(err) ?? 'error'}${status ? ` (HTTP ${status})` : ''}`,
    { cause: err, details: { op, key, status } },
  );
}
