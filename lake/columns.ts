import type { Data } from 'apache-arrow';
import {
  DataType,
  Field,
  Float64,
  Int32,
  Int64,
  List,
  RecordBatch,
  Schema,
  Struct,
  TimestampMicrosecond,
  Utf8,
  makeData,
} from 'apache-arrow';
import { TickLakeError } from '../core/errors.ts';

/**
 * The column kinds a lake table may use, and a plain columnar form of rows (`Columns`) that the codec,
 * compaction and the reader share: it converts to and from Arrow without going through per-row objects, and
 * rows can be reordered or filtered with `gather`.
 *
 * - `ts`: TIMESTAMP(MICROS, UTC) — µs since epoch, carried as JS numbers (exact below 2^53).
 * - `dict`: a low-cardinality string (symbols, types, exchanges): dictionary-encoded in the Parquet pages, a plain
 *   string to readers.
 * - `f64`: IEEE-754 double (prices are doubles, as in the Kafka payloads; see docs/SCHEMAS.md).
 * - `strlist`: a list of strings (trade conditions).
 */
export type ColumnKind = 'string' | 'dict' | 'f64' | 'i64' | 'i32' | 'ts' | 'strlist';

export interface ColumnSpec {
  name: string;
  kind: ColumnKind;
  nullable: boolean;
}

export type CellValue = string | number | string[] | null;

/** Column name -> one value per row (null for missing). */
export type Columns = Record<string, CellValue[]>;

export function arrowType(kind: ColumnKind): DataType {
  switch (kind) {
    case 'string':
    case 'dict':
      return new Utf8();
    case 'f64':
      return new Float64();
    case 'i64':
      return new Int64();
    case 'i32':
      return new Int32();
    case 'ts':
      return new TimestampMicrosecond('UTC');
    case 'strlist':
      return new List(new Field('element', new Utf8(), true));
  }
}

/**
 * The Arrow schema of a lake file. It is the physical schema DuckDB writes too (compaction), so a table's files agree
 * whichever wrote them and engines that merge file schemas (pyarrow datasets, Spark) see one schema: every field
 * nullable (DuckDB can only write OPTIONAL columns; non-null is enforced on the way in), strings plain (dictionary
 * encoding is a Parquet page matter), list items named `element` as the Parquet spec names them.
 */
export function arrowSchema(specs: readonly ColumnSpec[], metadata?: Map<string, string>): Schema {
  return new Schema(
    specs.map((s) => new Field(s.name, arrowType(s.kind), true)),
    metadata,
  );
}

function validity(values: readonly unknown[]): { bitmap: Uint8Array | undefined; nulls: number } {
  let nulls = 0;
  for (const v of values) if (v === null || v === undefined) nulls++;
  if (nulls === 0) return { bitmap: undefined, nulls: 0 };
  const bitmap = new Uint8Array((values.length + 7) >> 3);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== null && v !== undefined) bitmap[i >> 3]! |= 1 << (i & 7);
  }
  return { bitmap, nulls };
}

function utf8Data(strings: readonly (string | null)[]): Data<Utf8> {
  // One native write per string into one buffer: far cheaper than a TextEncoder allocation per value.
  const offsets = new Int32Array(strings.length + 1);
  let total = 0;
  for (let i = 0; i < strings.length; i++) {
    const s = strings[i];
    if (s !== null && s !== undefined) total += Buffer.byteLength(s, 'utf8');
  }
  const data = Buffer.allocUnsafe(total);
  let pos = 0;
  for (let i = 0; i < strings.length; i++) {
    const s = strings[i];
    if (s !== null && s !== undefined) pos += data.write(s, pos, 'utf8');
    offsets[i + 1] = pos;
  }
  const { bitmap, nulls } = validity(strings);
  return makeData({
    type: new Utf8(),
    length: strings.length,
    nullCount: nulls,
    nullBitmap: bitmap,
    valueOffsets: offsets,
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  });
}

function numberData(kind: 'f64' | 'i32' | 'i64' | 'ts', values: readonly (number | null)[]): Data {
  const { bitmap, nulls } = validity(values);
  const n = values.length;
  if (kind === 'f64' || kind === 'i32') {
    const arr = kind === 'f64' ? new Float64Array(n) : new Int32Array(n);
    for (let i = 0; i < n; i++) arr[i] = values[i] ?? 0;
    return makeData({ type: arrowType(kind) as Float64, length: n, nullCount: nulls, nullBitmap: bitmap, data: arr });
  }
  const arr = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v !== null && v !== undefined) arr[i] = BigInt(v);
  }
  return makeData({
    type: arrowType(kind) as TimestampMicrosecond,
    length: n,
    nullCount: nulls,
    nullBitmap: bitmap,
    data: arr as never,
  });
}

function listData(values: readonly (string[] | null)[]): Data {
  const flat: string[] = [];
  const offsets = new Int32Array(values.length + 1);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v) for (const s of v) flat.push(s);
    offsets[i + 1] = flat.length;
  }
  const { bitmap, nulls } = validity(values);
  return makeData({
    type: arrowType('strlist') as List<Utf8>,
    length: values.length,
    nullCount: nulls,
    nullBitmap: bitmap,
    valueOffsets: offsets,
    child: utf8Data(flat),
  });
}

export function columnData(kind: ColumnKind, values: readonly CellValue[]): Data {
  switch (kind) {
    case 'string':
    case 'dict':
      return utf8Data(values as (string | null)[]);
    case 'strlist':
      return listData(values as (string[] | null)[]);
    default:
      return numberData(kind, values as (number | null)[]);
  }
}

/** Columns -> one Arrow record batch with exactly `specs`' schema. */
export function toRecordBatch(specs: readonly ColumnSpec[], cols: Columns, rowCount: number): RecordBatch {
  const schema = arrowSchema(specs);
  const children = specs.map((s) => {
    const values = cols[s.name] ?? new Array<CellValue>(rowCount).fill(null);
    if (values.length !== rowCount)
      throw new TickLakeError('INTERNAL', `column ${s.name} has ${values.length} values, expected ${rowCount}`);
    return columnData(s.kind, values);
  });
  const struct = makeData({
    type: new Struct(schema.fields),
    length: rowCount,
    nullCount: 0,
    children,
  });
  return new RecordBatch(schema, struct);
}

function isValidAt(data: Data, i: number): boolean {
  if (data.nullCount === 0 || !data.nullBitmap || data.nullBitmap.length === 0) return true;
  const j = data.offset + i;
  return (data.nullBitmap[j >> 3]! & (1 << (j & 7))) !== 0;
}

function utf8Values(data: Data, n: number): (string | null)[] {
  // Utf8 has Int32 offsets, LargeUtf8 (another writer's choice for big columns) BigInt64 ones.
  const offsets = data.valueOffsets as Int32Array | BigInt64Array;
  const bytes = data.values as Uint8Array;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: (string | null)[] = new Array(n);
  if (offsets instanceof BigInt64Array) {
    for (let i = 0; i < n; i++) {
      const j = data.offset + i;
      out[i] = isValidAt(data, i) ? buf.toString('utf8', Number(offsets[j]), Number(offsets[j + 1])) : null;
    }
    return out;
  }
  for (let i = 0; i < n; i++) {
    const j = data.offset + i;
    out[i] = isValidAt(data, i) ? buf.toString('utf8', offsets[j]!, offsets[j + 1]!) : null;
  }
  return out;
}

/** Strings of a dictionary-encoded column, whatever its index width. */
function dictionaryValues(data: Data, n: number): (string | null)[] {
  const dict =
    data.dictionary!.data.length === 1
      ? utf8Values(data.dictionary!.data[0]!, data.dictionary!.length)
      : (data.dictionary!.toArray() as string[]);
  const keys = data.values as ArrayLike<number | bigint>;
  const out: (string | null)[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = isValidAt(data, i) ? dict[Number(keys[data.offset + i]!)]! : null;
  return out;
}

const isString = (t: DataType) => DataType.isUtf8(t) || DataType.isLargeUtf8(t);

/**
 * Whether a file column of Arrow type `t` holds `kind`: the exact type our writer uses, or, for strings, the
 * other encoding of the same values (DuckDB writes low-cardinality strings as Parquet dictionaries that read
 * back as plain Utf8; a file may also carry a dictionary for a 'string' column). Anything else is a mismatch.
 */
function readableAs(kind: ColumnKind, t: DataType): boolean {
  if (kind === 'string' || kind === 'dict') {
    return isString(t) || (DataType.isDictionary(t) && DataType.isInt(t.indices) && isString(t.dictionary));
  }
  return t.toString() === arrowType(kind).toString();
}

// Reads the buffers directly: Vector.get per cell costs several times more than the rest of a decode.
function columnValues(kind: ColumnKind, data: Data, n: number): CellValue[] {
  const out: CellValue[] = new Array(n);
  switch (kind) {
    case 'string':
    case 'dict':
      return DataType.isDictionary(data.type) ? dictionaryValues(data, n) : utf8Values(data, n);
    case 'ts':
    case 'i64': {
      const v = data.values as BigInt64Array;
      for (let i = 0; i < n; i++) out[i] = isValidAt(data, i) ? Number(v[data.offset + i]) : null;
      return out;
    }
    case 'f64':
    case 'i32': {
      const v = data.values as Float64Array | Int32Array;
      for (let i = 0; i < n; i++) out[i] = isValidAt(data, i) ? v[data.offset + i]! : null;
      return out;
    }
    case 'strlist': {
      const offsets = data.valueOffsets as Int32Array;
      const child = data.children[0]!;
      const items = utf8Values(child, child.length);
      for (let i = 0; i < n; i++) {
        const j = data.offset + i;
        out[i] = isValidAt(data, i)
          ? (items.slice(offsets[j]! - child.offset, offsets[j + 1]! - child.offset) as string[])
          : null;
      }
      return out;
    }
  }
}

/** Arrow record batch -> Columns for the given specs; a column missing from the batch (older schema) is all null. */
export function fromRecordBatch(specs: readonly ColumnSpec[], batch: RecordBatch): Columns {
  const out: Columns = {};
  const n = batch.numRows;
  for (const s of specs) {
    const vec = batch.getChild(s.name);
    if (!vec) {
      out[s.name] = new Array<CellValue>(n).fill(null);
    } else if (vec.data.length !== 1 || !readableAs(s.kind, vec.type)) {
      throw new TickLakeError(
        'SCHEMA_INCOMPATIBLE',
        `column ${s.name} is ${String(vec.type)} in the file, expected ${String(arrowType(s.kind))}`,
      );
    } else {
      out[s.name] = columnValues(s.kind, vec.data[0]!, n);
    }
  }
  return out;
}

/** The rows at `indices`, in that order. */
export function gather(cols: Columns, indices: ArrayLike<number>): Columns {
  const out: Columns = {};
  for (const [name, values] of Object.entries(cols)) {
    const next: CellValue[] = new Array(indices.length);
    for (let i = 0; i < indices.length; i++) next[i] = values[indices[i]!] ?? null;
    out[name] = next;
  }
  return out;
}

export function concatColumns(parts: readonly Columns[], specs: readonly ColumnSpec[]): Columns {
  const out: Columns = {};
  for (const s of specs) out[s.name] = parts.flatMap((p) => p[s.name] ?? []);
  return out;
}

export function rowCount(cols: Columns): number {
  const first = Object.values(cols)[0];
  return first ? first.length : 0;
}
