import { createReadStream, statSync } from 'node:fs';
import { extname } from 'node:path';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { parse } from 'csv-parse';

/**
 * File readers: each turns a file into rows of cells keyed by column name, with the 1-based line (row) number and
 * how far through the file it is for the progress line. A row that cannot be split into cells at all comes out as
 * `raw` with its text, never dropped.
 */
export type FileRow =
  | { kind: 'cells'; cells: Record<string, unknown>; line: number }
  | { kind: 'raw'; raw: string; line: number; error: string };

export interface FileReader {
  /** Total amount of `position` units in the file (bytes for text formats, rows for Parquet). */
  total: number;
  /** Units done so far; read after each chunk. */
  position(): number;
  /**
   * The rows in file order, a chunk at a time: an async iteration per row (a promise and an iterator result each,
   * through every layer above) cost more than converting the row did.
   */
  chunks(signal: AbortSignal): AsyncIterable<FileRow[]>;
}

const CHUNK_ROWS = 4096;

/**
 * The objects a Readable in object mode has buffered, up to `max` per chunk. `for await` over the stream would
 * wake once per object; this wakes once per batch of what is already parsed.
 */
async function* drained<T>(stream: Readable, max: number): AsyncGenerator<T[]> {
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onEnd = () => {
    ended = true;
    notify();
  };
  const onError = (err: Error) => {
    failure = err;
    notify();
  };
  stream.on('readable', notify);
  stream.once('end', onEnd);
  stream.once('error', onError);
  try {
    for (;;) {
      const batch: T[] = [];
      for (let item: T | null; batch.length < max && (item = stream.read() as T | null) !== null;) batch.push(item);
      if (batch.length > 0) {
        yield batch;
        continue;
      }
      if (failure) throw failure;
      if (ended) return;
      // Nothing buffered: 'readable', 'end' and 'error' are emitted on a later tick, so none is missed here.
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stream.off('readable', notify);
    stream.off('end', onEnd);
    stream.off('error', onError);
  }
}

export function csvReader(path: string, delimiter: string): FileReader {
  const total = statSync(path).size;
  let bytes = 0;
  // A .tsv left on the default delimiter is read as tab-separated: the extension says what the file is.
  const sep = delimiter === ',' && extname(path).toLowerCase() === '.tsv' ? '\t' : delimiter;
  return {
    total,
    position: () => bytes,
    async *chunks(signal) {
      const skipped: FileRow[] = [];
      const stream = createReadStream(path);
      const parser = stream.pipe(
        parse({
          columns: true,
          delimiter: sep,
          bom: true,
          info: true,
          raw: true,
          relax_column_count: true,
          skip_empty_lines: true,
          skip_records_with_error: true,
          on_skip: (err, raw) => {
            const line = (err as { lines?: number } | undefined)?.lines ?? 0;
            skipped.push({ kind: 'raw', raw: raw ?? '', line, error: err?.message ?? 'unparseable CSV record' });
          },
        }),
      );
      type Parsed = {
        record: Record<string, string>;
        raw: string;
        info: { lines: number; bytes: number; columns?: unknown[]; error?: unknown };
      };
      try {
        for await (const items of drained<Parsed>(parser, CHUNK_ROWS)) {
          if (signal.aborted) return;
          const out: FileRow[] = [];
          for (const item of items) {
            while (skipped.length > 0 && (skipped[0]?.line ?? 0) < item.info.lines) out.push(skipped.shift()!);
            bytes = item.info.bytes;
            if (item.info.error !== undefined) {
              // A ragged line cannot be mapped to columns reliably (an unquoted comma shifts every later cell).
              const error = `line has a different number of fields than the header (${item.info.columns?.length ?? '?'})`;
              out.push({ kind: 'raw', raw: item.raw, line: item.info.lines, error });
              continue;
            }
            out.push({ kind: 'cells', cells: item.record, line: item.info.lines });
          }
          yield out;
        }
        if (skipped.length > 0) yield skipped.splice(0);
        bytes = total;
      } finally {
        stream.destroy();
      }
    },
  };
}

export function ndjsonReader(path: string): FileReader {
  const total = statSync(path).size;
  let bytes = 0;
  return {
    total,
    position: () => bytes,
    async *chunks(signal) {
      const stream = createReadStream(path, { highWaterMark: 256 * 1024 });
      const decoder = new StringDecoder('utf8');
      let rest = '';
      let line = 0;
      const toRow = (text: string): FileRow | undefined => {
        line++;
        if (text.endsWith('\r')) text = text.slice(0, -1);
        if (text.trim() === '') return undefined;
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (err) {
          return { kind: 'raw', raw: text, line, error: (err as Error).message };
        }
        if (value === null || typeof value !== 'object' || Array.isArray(value)) {
          return { kind: 'raw', raw: text, line, error: 'line is not a JSON object' };
        }
        return { kind: 'cells', cells: value as Record<string, unknown>, line };
      };
      try {
        for await (const buf of stream as AsyncIterable<Buffer>) {
          if (signal.aborted) return;
          const text = rest + decoder.write(buf);
          const out: FileRow[] = [];
          let from = 0;
          for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
            const row = toRow(text.slice(from, nl));
            if (row) out.push(row);
            from = nl + 1;
          }
          rest = text.slice(from);
          bytes += buf.length;
          if (out.length > 0) yield out;
        }
        const last = toRow(rest + decoder.end());
        if (last && !signal.aborted) yield [last];
      } finally {
        stream.destroy();
      }
    },
  };
}
