import { z } from 'zod';

/** What the synthetic market injects, and labels (streaming/sources/synthetic/). */
export const ANOMALY_KINDS = [
  'price_jump',
  'volume_spike',
  'spread_blowout',
  'stale_feed',
  'duplicate',
  'out_of_order',
  'late',
  'malformed',
] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

/**
 * One line of the labels file (NDJSON): the oracle that cleaning, alerts and the anomaly model are judged by.
 * Every label that refers to a record carries the record's tick `id` and `detail.index`, the record's 0-based
 * position in the source's output (what `batches()` yielded, in order). See docs for each kind's detail fields.
 */
export const syntheticLabelSchema = z.object({
  kind: z.enum(ANOMALY_KINDS),
  symbol: z.string(),
  /** Event time (µs) of the labelled tick; for stale_feed, when the silence starts. */
  ts: z.number().int(),
  id: z.string().optional(),
  detail: z.record(z.string(), z.unknown()),
});

export type SyntheticLabel = z.infer<typeof syntheticLabelSchema>;

/** Parses a labels file's text; throws on a bad line (the file is ours, so a bad line is a bug). */
export function parseLabels(ndjson: string): SyntheticLabel[] {
  return ndjson
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => syntheticLabelSchema.parse(JSON.parse(l)));
}
