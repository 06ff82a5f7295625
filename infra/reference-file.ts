import { readFileSync } from 'node:fs';
import { TickLakeError } from '../core/errors.ts';
import { parseReferenceCsv } from '../core/reference.ts';
import type { ReferenceSymbol } from '../core/schemas/reference.ts';

/**
 * The shipped symbol master, read from disk: an edge, so it lives here and core/reference.ts only parses.
 * Where reference/symbols.csv lives, relative to this module (works from a checkout or an installed package).
 */
export const SHIPPED_REFERENCE_URL = new URL('../reference/symbols.csv', import.meta.url);

/** The shipped symbol master. It is part of the code, so any bad line is a bug: it throws instead of skipping. */
export function loadShippedReference(): ReferenceSymbol[] {
  const { rows, errors } = parseReferenceCsv(readFileSync(SHIPPED_REFERENCE_URL, 'utf8'));
  if (errors.length > 0) {
    const list = errors.map((e) => `line ${e.line}: ${e.message}`).join('; ');
    throw new TickLakeError('INPUT_INVALID', `reference/symbols.csv has invalid lines: ${list}`, {
      details: { errors },
    });
  }
  return rows;
}
