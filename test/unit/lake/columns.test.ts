import {
  Dictionary,
  Float64,
  Int8,
  Int32,
  LargeUtf8,
  RecordBatch,
  TimestampMillisecond,
  Utf8,
  vectorFromArray,
  type DataType,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { fromRecordBatch, type ColumnSpec } from '../../../lake/columns.ts';

const batch = (name: string, values: unknown[], type: DataType) =>
  new RecordBatch({ [name]: vectorFromArray(values, type).data[0]! });
const spec = (name: string, kind: ColumnSpec['kind']): ColumnSpec[] => [{ name, kind, nullable: true }];
const strings = ['AAPL', null, 'MSFT', 'AAPL'];

describe('fromRecordBatch', () => {
  it.each([
    ['plain Utf8 (how both writers store strings)', new Utf8()],
    ['LargeUtf8', new LargeUtf8()],
    ['Dictionary<Int32, Utf8> (files from earlier ticklake builds)', new Dictionary(new Utf8(), new Int32())],
    ['Dictionary<Int8, Utf8>', new Dictionary(new Utf8(), new Int8())],
  ])('reads string and dict columns stored as %s', (_name, type) => {
    expect(fromRecordBatch(spec('symbol', 'dict'), batch('symbol', strings, type))).toEqual({ symbol: strings });
    expect(fromRecordBatch(spec('id', 'string'), batch('id', strings, type))).toEqual({ id: strings });
  });

  it('still rejects a column of another type, naming it and what was expected', () => {
    expect(() => fromRecordBatch(spec('symbol', 'dict'), batch('symbol', [1.5], new Float64()))).toThrow(
      'column symbol is Float64 in the file, expected Utf8',
    );
    expect(() => fromRecordBatch(spec('price', 'f64'), batch('price', ['1.5'], new Utf8()))).toThrow(
      /column price is Utf8 in the file, expected Float64/,
    );
    expect(() => fromRecordBatch(spec('ts', 'ts'), batch('ts', [1], new TimestampMillisecond('UTC')))).toThrow(
      /column ts is Timestamp<MILLISECOND, UTC> in the file/,
    );
    expect(() =>
      fromRecordBatch(spec('symbol', 'dict'), batch('symbol', [1.5], new Dictionary(new Float64(), new Int32()))),
    ).toThrow(/column symbol is Dictionary<Int32, Float64>/);
  });
});
