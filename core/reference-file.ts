// The one file-system read in core, kept out of core/reference.ts so parsing stays pure: the symbol master ships
// with the code. (The core lint rule bans node:fs; listing this file in its ignores would replace this comment.)
// eslint-disable-next-line no-restricted-imports
import { readFileSync } from 'node:fs';
import { TickLakeError } from './errors.ts';
import { parseReferenceCsv } from './reference.ts';
import type { ReferenceSymbol } from './schemas/reference.ts';

/** Where reference/symbols.csv lives, relative to this module (works from a checkout or an installed package). */
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
