import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { TOPIC_CATALOG } from '../../../core/topics.ts';
import type { ColumnKind } from '../../../lake/columns.ts';
import { SINK_TABLE_NAMES, TABLES } from '../../../lake/tables.ts';
import { SINK_TABLES } from '../../../streaming/sink/tables.ts';

/**
 * The lake tables cannot drift from the messages: every field of a table's message schema (from the topic
 * catalog) has its column, of a kind that holds the field's type, nullable exactly when the field may be absent or
 * null; and every column is some field. Only the version fields (`v`, `ev`) have no column: the table's own
 * version stands for them.
 */
interface Field {
  kind: 'int' | 'number' | 'string' | 'strings' | 'other';
  optional: boolean;
}

function fieldOf(s: z.ZodType): Field {
  const def = s.def as { type: string; innerType?: z.ZodType; element?: z.ZodType; in?: z.ZodType };
  if (def.type === 'optional' || def.type === 'nullable' || def.type === 'default') {
    return { ...fieldOf(def.innerType!), optional: def.type !== 'default' };
  }
  if (def.type === 'number') return { kind: (s as z.ZodNumber).isInt ? 'int' : 'number', optional: false };
  if (def.type === 'string' || def.type === 'enum') return { kind: 'string', optional: false };
  if (def.type === 'literal') {
    const values = (s as z.ZodLiteral).values;
    return { kind: [...values].every((v) => typeof v === 'string') ? 'string' : 'other', optional: false };
  }
  if (def.type === 'array' && fieldOf(def.element!).kind === 'string') return { kind: 'strings', optional: false };
  if (def.type === 'union') {
    // A union of one kind (an alert's symbol: a symbol or '*') is that kind.
    const kinds = new Set((def as unknown as { options: z.ZodType[] }).options.map((o) => fieldOf(o).kind));
    if (kinds.size === 1) return { kind: [...kinds][0]!, optional: false };
  }
  return { kind: 'other', optional: false };
}

/** Field name -> field, over objects, unions (a field missing from a member is optional) and intersections. */
function fieldsOf(s: z.ZodType): Map<string, Field> {
  const def = s.def as {
    type: string;
    shape?: Record<string, z.ZodType>;
    options?: z.ZodType[];
    left?: z.ZodType;
    right?: z.ZodType;
    in?: z.ZodType;
  };
  if (def.type === 'object') return new Map(Object.entries(def.shape!).map(([k, v]) => [k, fieldOf(v)]));
  if (def.type === 'pipe') return fieldsOf(def.in!);
  if (def.type === 'intersection') return new Map([...fieldsOf(def.left!), ...fieldsOf(def.right!)]);
  if (def.type === 'union') {
    const members = def.options!.map(fieldsOf);
    const out = new Map<string, Field>();
    for (const m of members) {
      for (const [k, f] of m) {
        const everywhere = members.every((o) => o.has(k));
        const prev = out.get(k);
        out.set(k, {
          kind: prev && prev.kind !== f.kind ? 'other' : f.kind,
          optional: f.optional || !everywhere || !!prev?.optional,
        });
      }
    }
    return out;
  }
  throw new Error(`unsupported schema type ${def.type}`);
}

const HOLDS: Record<Field['kind'], ColumnKind[]> = {
  int: ['i64', 'i32', 'ts'],
  number: ['f64'],
  string: ['string', 'dict'],
  strings: ['strlist'],
  other: [],
};
const snake = (k: string) => k.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
const VERSION_FIELDS = new Set(['v', 'ev']);

describe.each([...SINK_TABLE_NAMES])('lake table %s against its message schema', (table) => {
  const topic = SINK_TABLES[table].topic;
  const schema = TOPIC_CATALOG[topic].schema!;
  const fields = fieldsOf(schema);
  const columns = new Map(TABLES[table].columns.map((c) => [c.name, c]));

  it('has a column of the right kind and nullability for every field', () => {
    for (const [name, f] of fields) {
      if (VERSION_FIELDS.has(name)) continue;
      const col = columns.get(snake(name));
      expect(col, `${table}: field ${name} has no column ${snake(name)}`).toBeDefined();
      expect(HOLDS[f.kind], `${table}.${name}: a ${f.kind} in a ${col!.kind} column`).toContain(col!.kind);
      expect(col!.nullable, `${table}.${name}: nullable`).toBe(f.optional);
    }
  });

  it('has no column that is not a field', () => {
    const names = new Set([...fields.keys()].map(snake));
    for (const c of columns.keys()) expect(names.has(c), `${table}: column ${c} is no field`).toBe(true);
  });
});

describe('the sink parses with the message schema', () => {
  const bar = {
    v: 1,
    symbol: 'AAPL',
    windowStart: 1_767_312_000_000_000,
    windowEnd: 1_767_312_060_000_000,
    open: 1,
    high: 2,
    low: 1,
    close: 2,
    volume: 3,
    vwap: 1.5,
    trades: 2,
    firstTs: 1_767_312_000_000_001,
    lastTs: 1_767_312_000_000_002,
    revision: 0,
  };
  const decode = (v: unknown) => SINK_TABLES.bars.decode(Buffer.from(JSON.stringify(v)));

  it('takes a valid bar', () => {
    expect(decode(bar)).toEqual({ kind: 'row', row: bar });
  });

  it.each([
    ['another version', { ...bar, v: 2 }, 'v:'],
    ['a negative volume', { ...bar, volume: -1 }, 'volume:'],
    ['a fractional trade count', { ...bar, trades: 1.5 }, 'trades:'],
    ['a lower-case symbol', { ...bar, symbol: 'aapl' }, 'symbol:'],
  ])('dead-letters %s, naming the field', (_what, value, detail) => {
    const d = decode(value);
    expect(d.kind).toBe('reject');
    expect(d.kind === 'reject' && d.detail).toContain(detail);
  });
});

describe('the drift check itself', () => {
  it('notices a new field without a column and a field whose type changed', () => {
    const bars = new Map(TABLES.bars.columns.map((c) => [c.name, c.kind]));
    const grown = fieldsOf(TOPIC_CATALOG.bars.schema.extend({ vwapMid: z.number() }));
    expect(bars.has(snake('vwapMid')) || !grown.has('vwapMid')).toBe(false);
    const retyped = fieldsOf(TOPIC_CATALOG.bars.schema.extend({ trades: z.string() }));
    expect(HOLDS[retyped.get('trades')!.kind]).not.toContain(bars.get('trades'));
  });
});
