import { mergeSources, sourceRangeId, type SourceRange } from '../lake/layout.ts';
import type { LedgerEntry } from './sql.ts';

/**
 * The load ledger's decisions, as pure functions: what a lake day is (its fingerprint), whether a load is due, and
 * which days a sweep should look at. The loader (warehouse/loader.ts) only reads, writes and follows them.
 */

/** What the lake holds for one day of a table, at one snapshot. */
export interface LakeDay {
  day: string;
  /** The snapshot read. */
  seq: number;
  /** The day list's key (content-addressed: changes whenever the day's files do). */
  dayManifest: string;
  fingerprint: string;
  files: number;
  /** Rows stored, duplicates included (the warehouse gets one per dedupe key). */
  rows: number;
}

export interface DayFile {
  path: string;
  rows: number;
  sources: readonly SourceRange[];
}

/** FNV-1a, 64 bits: a pure, stable digest (the fingerprint must not depend on a runtime's crypto module). */
function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

/**
 * Names a day's data, not its files: the Kafka offset ranges its rows were built from, merged. A row is a
 * deterministic function of its source range (LAKE.md, exactly-once), and compaction records its inputs' ranges on
 * its output, so the sink's files and the compacted files of one day have the same fingerprint, and new data
 * changes it. Files without source ranges (written outside the sink) fall back to their paths and row counts.
 */
export function dayFingerprint(files: readonly DayFile[]): string {
  const unsourced = files.filter((f) => f.sources.length === 0);
  const ranges = mergeSources(files.flatMap((f) => f.sources)).map(sourceRangeId);
  const loose = unsourced.map((f) => `${f.path}#${f.rows}`).sort();
  return `v1-${fnv1a64([...ranges, '|', ...loose].join('\n'))}`;
}

export type LoadDecision =
  | { action: 'load'; reason: 'never_loaded' | 'lake_changed' | 'forced' }
  | { action: 'unchanged'; reason: 'same_day' | 'same_data_rewritten' | 'empty' };

/**
 * Load the day, or not. Keyed by the fingerprint, not the snapshot number: the table's snapshot moves on with every
 * sink commit to any day, and a compaction rewrites files without changing data; neither is a reason to load again.
 */
export function decideLoad(latest: LedgerEntry | undefined, day: LakeDay, force = false): LoadDecision {
  if (day.files === 0) return { action: 'unchanged', reason: 'empty' };
  if (force) return { action: 'load', reason: 'forced' };
  if (!latest) return { action: 'load', reason: 'never_loaded' };
  if (latest.fingerprint !== day.fingerprint) return { action: 'load', reason: 'lake_changed' };
  return {
    action: 'unchanged',
    reason: latest.dayManifest === day.dayManifest ? 'same_day' : 'same_data_rewritten',
  };
}

/**
 * An unchanged day is written to the ledger only when its day list changed (compaction rewrote it), so the next
 * sweep's cheap comparison (dueDays) stops proposing it; repeating the same check adds no row.
 */
export function ledgerRowNeeded(decision: LoadDecision, latest: LedgerEntry | undefined, day: LakeDay): boolean {
  if (decision.action === 'load') return true;
  if (decision.reason === 'empty') return false;
  return latest?.dayManifest !== day.dayManifest;
}

/**
 * The days a sweep should load or check: those whose day list differs from the one the ledger last saw (or that it
 * never saw). Reads only the snapshot's day refs, never a part manifest, so a sweep over a year of days is cheap.
 */
export function dueDays(
  days: readonly { day: string; manifest: string }[],
  latest: ReadonlyMap<string, Pick<LedgerEntry, 'dayManifest'>>,
  range: { from?: string; to?: string } = {},
): string[] {
  return days
    .filter((d) => (range.from === undefined || d.day >= range.from) && (range.to === undefined || d.day <= range.to))
    .filter((d) => latest.get(d.day)?.dayManifest !== d.manifest)
    .map((d) => d.day)
    .sort();
}

/** `dt=YYYY-MM-DD` (the lake's day level) <-> `YYYY-MM-DD`. */
export const lakeDayOf = (day: string) => `dt=${day}`;
export const dayOfLakeDay = (lakeDay: string) => lakeDay.replace(/^dt=/, '');
