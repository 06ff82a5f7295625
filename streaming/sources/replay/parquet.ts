import { openAsBlob } from 'node:fs';
import { DataType, DateUnit, TimeUnit, tableFromIPC } from 'apache-arrow';
import type { Data, Vector } from 'apache-arrow';
import type { FileReader, FileRow } from './readers.ts';
import { Instant } from './timestamps.ts';

/**
 * Parquet via parquet-wasm (decode) and apache-arrow (columns). The file is opened as a lazily read Blob and decoded
 * record batch by record batch, so memory stays bounded by the batch, not the file. TIMESTAMP and DATE columns are
 * read from their raw int64/int32 values with the unit from the schema (Arrow's getters round them to ms), and
 * handed on as Instant so `timestampFormat` does not reinterpret them. Only the columns the mapping names are read.
 */

const US_PER: Record<number, bigint> = {
  [TimeUnit.SECOND]: 1_000_000n,
  [TimeUnit.MILLISECOND]: 1000n,
  [TimeUnit.MICROSECOND]: 1n,
};

function instantAt(vector: Vector, index: number): Instant | null {
  if (!vector.isValid(index)) return null;
  // One Data per vector: each wasm batch comes back as a single-batch table.
  const data = vector.data[0] as Data;
  const raw = BigInt((data.values as ArrayLike<number | bigint>)[data.offset + index] ?? 0);
  const type = vector.type as DataType;
  if (DataType.isTimestamp(type)) {
    return new Instant(type.unit === TimeUnit.NANOSECOND ? raw / 1000n : raw * (US_PER[type.unit] ?? 1n));
  }
  // DATE: days (int32) or ms (int64) since the epoch.
  const unit = (type as unknown as { unit: DateUnit }).unit;
  return new Instant(unit === DateUnit.DAY ? raw * 86_400_000_000n : raw * 1000n);
}

function hasColumn(schema: { indexOf(name: string): number }, name: string): boolean {
  try {
    return schema.indexOf(name) >= 0;
  } catch {
    return false; // parquet-wasm throws for an unknown name
  }
}

export async function parquetReader(path: string, wanted: readonly string[]): Promise<FileReader> {
  const { ParquetFile } = await import('parquet-wasm');
  const file = await ParquetFile.fromFile(await openAsBlob(path));
  const total = file.metadata().fileMetadata().numRows();
  const schema = file.schema();
  const columns = [...new Set(wanted)].filter((c) => hasColumn(schema, c));
  schema.free();
  let done = 0;
  return {
    total,
    position: () => done,
    async *chunks(signal) {
      try {
        const stream = await file.stream({ batchSize: 4096, columns });
        for await (const wasmBatch of stream as unknown as AsyncIterable<{ intoIPCStream(): Uint8Array }>) {
          const table = tableFromIPC(wasmBatch.intoIPCStream());
          const vectors = columns.map((name) => {
            const vector = table.getChild(name);
            const type = vector?.type as DataType | undefined;
            const typed = type !== undefined && (DataType.isTimestamp(type) || DataType.isDate(type));
            return { name, vector, typed };
          });
          if (signal.aborted) return;
          const rows: FileRow[] = [];
          for (let i = 0; i < table.numRows; i++) {
            const cells: Record<string, unknown> = {};
            for (const { name, vector, typed } of vectors) {
              if (vector === null || vector === undefined) continue;
              cells[name] = typed ? instantAt(vector, i) : vector.get(i);
            }
            rows.push({ kind: 'cells', cells, line: done + i + 1 });
          }
          done += table.numRows;
          yield rows;
        }
      } finally {
        file.free();
      }
    },
  };
}
