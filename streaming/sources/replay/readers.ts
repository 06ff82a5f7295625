import { type ReadStream, createReadStream, statSync } from 'node:fs';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
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
  /** Units done so far; read after each row. */
  position(): number;
  rows(signal: AbortSignal): AsyncIterable<FileRow>;
}

export function csvReader(path: string, delimiter: string): FileReader {
  const total = statSync(path).size;
  let bytes = 0;
  // A .tsv left on the default delimiter is read as tab-separated: the extension says what the file is.
  const sep = delimiter === ',' && extname(path).toLowerCase() === '.tsv' ? '\t' : delimiter;
  return {
    total,
    position: () => bytes,
    async *rows(signal) {
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
      try {
        for await (const item of parser as AsyncIterable<{
          record: Record<string, string>;
          raw: string;
          info: { lines: number; bytes: number; columns?: unknown[]; error?: unknown };
        }>) {
          if (signal.aborted) return;
          while (skipped.length > 0 && (skipped[0]?.line ?? 0) < item.info.lines) yield skipped.shift()!;
          bytes = item.info.bytes;
          if (item.info.error !== undefined) {
            // A ragged line cannot be mapped to columns reliably (an unquoted comma shifts every later cell).
            const error = `line has a different number of fields than the header (${item.info.columns?.length ?? '?'})`;
            yield { kind: 'raw', raw: item.raw, line: item.info.lines, error };
            continue;
          }
          yield { kind: 'cells', cells: item.record, line: item.info.lines };
        }
        yield* skipped;
        bytes = total;
      } finally {
        stream.destroy();
      }
    },
  };
}

export function ndjsonReader(path: string): FileReader {
  const total = statSync(path).size;
  let stream: ReadStream | undefined;
  return {
    total,
    position: () => stream?.bytesRead ?? 0,
    async *rows(signal) {
      stream = createReadStream(path);
      const lines = createInterface({ input: stream, crlfDelay: Infinity });
      let line = 0;
      try {
        for await (const text of lines) {
          if (signal.aborted) return;
          line++;
          if (text.trim() === '') continue;
          let value: unknown;
          try {
            value = JSON.parse(text);
          } catch (err) {
            yield { kind: 'raw', raw: text, line, error: (err as Error).message };
            continue;
          }
          if (value === null || typeof value !== 'object' || Array.isArray(value)) {
            yield { kind: 'raw', raw: text, line, error: 'line is not a JSON object' };
            continue;
          }
          yield { kind: 'cells', cells: value as Record<string, unknown>, line };
        }
      } finally {
        lines.close();
        stream?.destroy();
      }
    },
  };
}
