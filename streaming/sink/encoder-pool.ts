import { Worker } from 'node:worker_threads';
import { TickLakeError } from '../../core/errors.ts';
import type { SourceRange } from '../../lake/layout.ts';
import type { SinkTableName } from '../../lake/tables.ts';
import type { EncodedBlock, RecordBlock } from './encode-block.ts';

export interface EncodeRequest {
  id: number;
  table: SinkTableName;
  block: RecordBlock;
  range: SourceRange;
  opts: { rowGroupRows?: number };
}

export type EncodeResponse =
  { id: number; ok: true; result: EncodedBlock } | { id: number; ok: false; message: string };

interface Pending {
  resolve: (r: EncodedBlock) => void;
  reject: (e: Error) => void;
}

/**
 * Threads that turn record blocks into Parquet (decode, validate, sort, encode: the CPU-heavy part of a flush), so
 * the sink's main thread keeps fetching from Kafka and heartbeating while a flush is encoded. A block goes to the
 * thread picked by its partition; a thread that dies fails its pending blocks (the sink retries them) and is
 * replaced on the next request.
 */
export class EncoderPool {
  private readonly workers: Array<{ worker: Worker; pending: Map<number, Pending>; ready: Promise<void> } | undefined>;
  private nextId = 1;
  private closed = false;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new TickLakeError('CONFIG_INVALID', `encoder threads: ${size}`);
    this.workers = new Array(size).fill(undefined);
  }

  encode(slot: number, table: SinkTableName, block: RecordBlock, range: SourceRange, opts: EncodeRequest['opts'] = {}) {
    if (this.closed) return Promise.reject(new TickLakeError('INTERNAL', 'encoder pool is closed'));
    const w = this.thread(slot % this.size);
    const id = this.nextId++;
    return new Promise<EncodedBlock>((resolve, reject) => {
      w.pending.set(id, { resolve, reject });
      const req: EncodeRequest = { id, table, block, range, opts };
      w.worker.postMessage(req, [block.bytes.buffer as ArrayBuffer, block.lengths.buffer as ArrayBuffer]);
    });
  }

  /** The slot of the thread with the fewest blocks queued or being encoded (a thread not started counts as idle). */
  leastBusy(): number {
    let best = 0;
    for (let i = 1; i < this.size; i++) {
      if ((this.workers[i]?.pending.size ?? 0) < (this.workers[best]?.pending.size ?? 0)) best = i;
    }
    return best;
  }

  /** Starts every thread and waits until each has loaded its code, so the first flush doesn't pay for it. */
  async start(): Promise<void> {
    await Promise.all(this.workers.map((_, i) => this.thread(i).ready));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w?.worker.terminate()));
  }

  private thread(i: number) {
    const existing = this.workers[i];
    if (existing) return existing;
    // execArgv [] so a parent started with `--import tsx` does not load tsx twice; the entry registers it.
    const worker = new Worker(new URL('./encode-thread.mjs', import.meta.url), { execArgv: [] });
    worker.unref();
    let ready!: () => void;
    const entry = {
      worker,
      pending: new Map<number, Pending>(),
      ready: new Promise<void>((resolve) => (ready = resolve)),
    };
    const fail = (err: Error) => {
      if (this.workers[i] === entry) this.workers[i] = undefined;
      for (const p of entry.pending.values()) p.reject(err);
      entry.pending.clear();
      ready();
    };
    worker.on('message', (res: EncodeResponse | 'ready') => {
      if (res === 'ready') return ready();
      const p = entry.pending.get(res.id);
      if (!p) return;
      entry.pending.delete(res.id);
      if (res.ok) p.resolve(res.result);
      else p.reject(new TickLakeError('WORKER_FAILED', `encoding a block failed: ${res.message}`));
    });
    worker.on('error', (err) => fail(err));
    worker.on('exit', (code) => fail(new TickLakeError('WORKER_FAILED', `encoder thread exited (${code})`)));
    this.workers[i] = entry;
    return entry;
  }
}
