import { referenceSymbolSchema } from './schemas/reference.ts';
import type { ReferenceSymbol } from './schemas/reference.ts';

/**
 * Parsing of the symbol master CSV (reference/symbols.csv): a header naming the columns symbol, name, sector,
 * exchange, currency, beta (any order, extra columns ignored), then one instrument per line. Fields may be quoted
 * with double quotes ("" inside quotes is a quote); a field cannot span lines. Blank lines and lines starting with
 * '#' are skipped. An empty beta means the schema default (1). A bad line is reported and skipped, never fatal.
 */

export const REFERENCE_COLUMNS = ['symbol', 'name', 'sector', 'exchange', 'currency', 'beta'] as const;

export interface ReferenceLineError {
  /** 1-based line number in the text. */
  line: number;
  message: string;
}

export interface ParsedReference {
  rows: ReferenceSymbol[];
  errors: ReferenceLineError[];
}

/** Splits one CSV line; null when its quoting is broken. */
export function splitCsvLine(line: string): string[] | null {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return null;
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      fields.push(value);
      if (i === line.length) return fields;
      if (line[i] !== ',') return null;
      i++;
    } else {
      const comma = line.indexOf(',', i);
      const raw = comma < 0 ? line.slice(i) : line.slice(i, comma);
      if (raw.includes('"')) return null;
      fields.push(raw.trim());
      if (comma < 0) return fields;
      i = comma + 1;
    }
  }
}

export function parseReferenceCsv(text: string): ParsedReference {
  const rows: ReferenceSymbol[] = [];
  const errors: ReferenceLineError[] = [];
  const lines = text.split(/\r?\n/);
  let columns: Map<string, number> | null = null;
  const seen = new Map<string, number>();

  for (let n = 0; n < lines.length; n++) {
    const line = (lines[n] as string).replace(/^\uFEFF/, '');
    if (line.trim() === '' || line.startsWith('#')) continue;
    const lineNo = n + 1;
    const fields = splitCsvLine(line);
    if (fields === null) {
      errors.push({ line: lineNo, message: 'malformed CSV quoting' });
      continue;
    }
    if (columns === null) {
      const header = new Map(fields.map((f, i) => [f.trim().toLowerCase(), i] as const));
      const missing = REFERENCE_COLUMNS.filter((c) => c !== 'beta' && !header.has(c));
      if (missing.length > 0) {
        errors.push({ line: lineNo, message: `header is missing column(s): ${missing.join(', ')}` });
        return { rows, errors };
      }
      columns = header;
      continue;
    }
    const record: Record<string, unknown> = {};
    for (const c of REFERENCE_COLUMNS) {
      const idx = columns.get(c);
      const cell = idx === undefined ? undefined : fields[idx];
      if (cell === undefined || cell === '') continue;
      record[c] = c === 'beta' ? (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(cell) ? Number(cell) : cell) : cell;
    }
    const parsed = referenceSymbolSchema.safeParse(record);
    if (!parsed.success) {
      const message = parsed.error.issues.map((i) => `${i.path.join('.') || 'row'}: ${i.message}`).join('; ');
      errors.push({ line: lineNo, message });
      continue;
    }
    const first = seen.get(parsed.data.symbol);
    if (first !== undefined) {
      errors.push({ line: lineNo, message: `duplicate symbol ${parsed.data.symbol} (first on line ${first})` });
      continue;
    }
    seen.set(parsed.data.symbol, lineNo);
    rows.push(parsed.data);
  }
  if (columns === null) errors.push({ line: 0, message: 'no header line' });
  return { rows, errors };
}

export function toReferenceMap(rows: readonly ReferenceSymbol[]): Map<string, ReferenceSymbol> {
  return new Map(rows.map((r) => [r.symbol, r]));
}
