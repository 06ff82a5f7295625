import { z } from 'zod';

/**
 * A bounded memory of tick ids for dropping redelivered ticks. Two bounds, whichever bites first:
 *  - time: only ids whose event time is within `windowUs` of the newest event time seen are remembered
 *    (ts >= newest - windowUs); older ones are forgotten as soon as the newest time moves past them;
 *  - count: at most `capacity` ids; beyond that the one with the oldest event time is forgotten
 *    (ties: the one remembered first).
 * A tick older than the window is reported as new (there is nothing left to compare it with) and is not
 * remembered. Size the window at least as large as the bar lateness (outOfOrderness + allowedLateness) so that any
 * duplicate a bar could still absorb is caught.
 *
 * Eviction order is a min-heap on (ts, arrival number), so behaviour is exact and deterministic, also across
 * snapshot() / Deduper.restore().
 */

/** The one set of defaults (config's processor.dedupe* settings are derived from it). */
export const DEDUPE_DEFAULTS = Object.freeze({ capacity: 50_000, windowUs: 10 * 60_000_000 });

export const deduperOptionsSchema = z.object({
  capacity: z.number().int().positive().default(DEDUPE_DEFAULTS.capacity),
  windowUs: z.number().int().nonnegative().default(DEDUPE_DEFAULTS.windowUs),
});
export type DeduperOptions = z.infer<typeof deduperOptionsSchema>;

export const dedupeSnapshotSchema = z.object({
  v: z.literal(1),
  capacity: z.number().int().positive(),
  windowUs: z.number().int().nonnegative(),
  newestTs: z.number().nullable(),
  /** [id, ts] in eviction order (oldest first). */
  entries: z.array(z.tuple([z.string(), z.number()])),
});
export type DedupeSnapshot = z.infer<typeof dedupeSnapshotSchema>;

export class Deduper {
  readonly capacity: number;
  readonly windowUs: number;
  private newest = -Infinity;
  private readonly byId = new Map<string, number>();
  // Min-heap on (ts, order) in parallel arrays: no per-entry objects.
  private readonly heapTs: number[] = [];
  private readonly heapOrder: number[] = [];
  private readonly heapId: string[] = [];
  private nextOrder = 0;

  constructor(options: Partial<DeduperOptions> = {}) {
    const o = deduperOptionsSchema.parse(options);
    this.capacity = o.capacity;
    this.windowUs = o.windowUs;
  }

  get size(): number {
    return this.byId.size;
  }

  get newestTs(): number | null {
    return this.newest === -Infinity ? null : this.newest;
  }

  /** true when `id` was seen before (a duplicate); otherwise remembers it and returns false. */
  seen(id: string, ts: number): boolean {
    if (ts > this.newest) {
      this.newest = ts;
      this.evictBefore(ts - this.windowUs);
    }
    if (this.byId.has(id)) return true;
    if (ts < this.newest - this.windowUs) return false;
    this.byId.set(id, ts);
    this.push(ts, this.nextOrder++, id);
    if (this.byId.size > this.capacity) this.byId.delete(this.popMin());
    return false;
  }

  snapshot(): DedupeSnapshot {
    const idx = this.heapTs.map((_, i) => i);
    idx.sort((a, b) => (this.less(a, b) ? -1 : 1));
    return {
      v: 1,
      capacity: this.capacity,
      windowUs: this.windowUs,
      newestTs: this.newestTs,
      entries: idx.map((i) => [this.heapId[i] as string, this.heapTs[i] as number]),
    };
  }

  static restore(snapshot: unknown): Deduper {
    const s = dedupeSnapshotSchema.parse(snapshot);
    const d = new Deduper({ capacity: s.capacity, windowUs: s.windowUs });
    d.newest = s.newestTs ?? -Infinity;
    // Entries arrive sorted, so re-numbering them in order keeps the original tie-breaks.
    for (const [id, ts] of s.entries) {
      d.byId.set(id, ts);
      d.push(ts, d.nextOrder++, id);
    }
    return d;
  }

  private evictBefore(cutoff: number): void {
    while (this.heapTs.length > 0 && (this.heapTs[0] as number) < cutoff) this.byId.delete(this.popMin());
  }

  private less(a: number, b: number): boolean {
    const ta = this.heapTs[a] as number;
    const tb = this.heapTs[b] as number;
    return ta < tb || (ta === tb && (this.heapOrder[a] as number) < (this.heapOrder[b] as number));
  }

  private swap(a: number, b: number): void {
    const ts = this.heapTs[a] as number;
    const order = this.heapOrder[a] as number;
    const id = this.heapId[a] as string;
    this.heapTs[a] = this.heapTs[b] as number;
    this.heapOrder[a] = this.heapOrder[b] as number;
    this.heapId[a] = this.heapId[b] as string;
    this.heapTs[b] = ts;
    this.heapOrder[b] = order;
    this.heapId[b] = id;
  }

  private push(ts: number, order: number, id: string): void {
    this.heapTs.push(ts);
    this.heapOrder.push(order);
    this.heapId.push(id);
    let i = this.heapTs.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Removes the heap minimum and returns its id. */
  private popMin(): string {
    const top = this.heapId[0] as string;
    const last = this.heapTs.length - 1;
    this.swap(0, last);
    this.heapTs.pop();
    this.heapOrder.pop();
    this.heapId.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < last && this.less(l, m)) m = l;
      if (r < last && this.less(r, m)) m = r;
      if (m === i) return top;
      this.swap(i, m);
      i = m;
    }
  }
}
