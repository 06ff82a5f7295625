import { readFileSync } from 'node:fs';
import { parseReferenceCsv } from '../../../core/reference.ts';
import { loadShippedReference } from '../../../infra/reference-file.ts';
import { TickLakeError } from '../../../core/errors.ts';
import type { ReferenceSymbol } from '../../../core/schemas/reference.ts';
import { SeededRandom } from '../../../core/seeded-random.ts';

/**
 * The synthetic market's instruments: first the symbol master's rows (real names and betas), then generated
 * SYN0001, SYN0002, … with seeded sectors and betas. The pipeline publishes this list to the reference topic so
 * enrichment knows every synthetic symbol.
 */

const SECTORS = [
  'Information Technology',
  'Health Care',
  'Financials',
  'Consumer Discretionary',
  'Communication Services',
  'Industrials',
  'Consumer Staples',
  'Energy',
  'Utilities',
  'Real Estate',
  'Materials',
];

/** Reads a symbol master CSV; bad lines are an error here, since a silently shorter universe would mislead. */
export function loadReferenceFile(path: string): ReferenceSymbol[] {
  const { rows, errors } = parseReferenceCsv(readFileSync(path, 'utf8'));
  if (errors.length > 0) {
    const list = errors.map((e) => `line ${e.line}: ${e.message}`).join('; ');
    throw new TickLakeError('CONFIG_INVALID', `reference file ${path} has invalid lines: ${list}`);
  }
  return rows;
}

export function syntheticSymbolName(k: number): string {
  return `SYN${String(k).padStart(4, '0')}`;
}

/**
 * `n` instruments: the first min(n, reference.length) reference rows, then generated ones. Generated rows depend on
 * `seed` only (not on how many reference rows came first), so SYN0007 is the same instrument in every universe.
 */
export function syntheticUniverse(
  n: number,
  seed: number,
  reference: readonly ReferenceSymbol[] = loadShippedReference(),
): ReferenceSymbol[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  const out = reference.slice(0, n);
  const taken = new Set(out.map((r) => r.symbol));
  const rng = new SeededRandom(seed).fork('universe');
  for (let k = 1; out.length < n; k++) {
    const beta = Math.round(Math.min(2.5, Math.max(0.2, rng.normal(1, 0.35))) * 100) / 100;
    const sector = rng.pick(SECTORS);
    const symbol = syntheticSymbolName(k);
    if (taken.has(symbol)) continue;
    out.push({ symbol, name: `Synthetic ${symbol.slice(3)}`, sector, exchange: 'SYNX', currency: 'USD', beta });
  }
  return out;
}
