import { z } from 'zod';
import { timeUs } from './tick.ts';

/**
 * One row of the `reconciliation` lake table (and BigQuery table): what one reconciliation run found for one
 * stream table (`bars`, `alerts`) in one lake partition (`dt=…/hour=…`) over one window range. Re-running the same
 * range writes a row with the same key and a later `runTs`; readers keep the latest (the table's keepMax).
 */
export const RECONCILED_TABLES = ['bars', 'alerts'] as const;
export type ReconciledTable = (typeof RECONCILED_TABLES)[number];

/**
 * What explains a difference between the batch truth and the stream:
 *  - `late`: trades beyond the allowed lateness (the batch truth includes them, the stream rightly dropped them);
 *  - `missing_partition`: a lake partition absent on one side, or not flushed yet;
 *  - `disagreement`: nothing explains it: a bug, or data changed behind the pipeline's back.
 */
export const DIFFERENCE_CLASSES = ['late', 'missing_partition', 'disagreement'] as const;
export type DifferenceClass = (typeof DIFFERENCE_CLASSES)[number];

const count = z.number().int().nonnegative();

export const reconciliationRowSchema = z.object({
  runId: z.string().min(1).max(128),
  /** When the run started (wall time, µs): the latest run of a key wins. */
  runTs: timeUs,
  table: z.enum(RECONCILED_TABLES),
  partition: z.string().regex(/^dt=\d{4}-\d{2}-\d{2}\/hour=\d{2}$/),
  /** [windowStart, windowEnd): the part of the partition this row covers, µs. */
  windowStart: timeUs,
  windowEnd: timeUs,
  /** Bars or alerts the batch recomputation has in the range, and the stream's lake table has. */
  batchRows: count,
  streamRows: count,
  matched: count,
  late: count,
  missingPartition: count,
  disagreement: count,
  /** Trades beyond the allowed lateness that explain the `late` differences. */
  lateTicks: count,
  /** The first few differences, `class key: what differs`, for a person to start from. */
  examples: z.array(z.string().max(400)).max(20),
});
export type ReconciliationRow = z.infer<typeof reconciliationRowSchema>;
