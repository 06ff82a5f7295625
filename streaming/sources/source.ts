/**
 * The contract every tick source implements (synthetic market, file replay, live WebSocket feeds).
 *
 * A source yields batches of records ready for `ticks.raw`: key = symbol, value = the tick's JSON bytes
 * (see core/schemas/tick.ts). A source may also yield deliberately malformed values (the synthetic market's
 * fault injection, or a vendor's garbage): the processor, not the source, decides what is valid, so every
 * byte that arrived is kept somewhere.
 */
export interface SourceRecord {
  key: string;
  value: string | Buffer;
}

export interface SourceStats {
  /** Records emitted so far. */
  emitted: number;
  /** Free-form counters a source wants to report (reconnects, gaps, parse errors...). */
  counters: Record<string, number>;
}

/** How far a bounded source is through its input (the CLI's progress bar); `fraction` 0..1 when it knows. */
export interface SourceProgress {
  done: number;
  unit: string;
  total?: number;
  fraction?: number;
  detail?: string;
}

export interface TickSource {
  readonly name: string;
  /** Bounded sources (replay, a synthetic run with maxTicks or durationSec) say how far they are; live ones do not. */
  progress?(): SourceProgress | undefined;
  /**
   * Batches until the source is exhausted (replay, bounded synthetic runs) or `signal` aborts (live feeds).
   * The consumer awaits each batch before the next is produced: that await is the backpressure.
   */
  batches(signal: AbortSignal): AsyncIterable<SourceRecord[]>;
  stats(): SourceStats;
  close(): Promise<void>;
}
