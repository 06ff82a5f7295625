import { patched } from '@temporalio/workflow';
import { LAKE_TABLES } from './constants.ts';

type LakeTable = (typeof LAKE_TABLES)[number];

/** The lake's tables before issue 12 added `reconciliation` and `anomalies`. */
const TABLES_BEFORE_RECONCILIATION = ['raw', 'enriched', 'bars', 'alerts'] as const satisfies readonly LakeTable[];

/**
 * The tables a sweep covers when its input names none. The list is workflow code, so a run that started on a build
 * with fewer tables replays its history on this one: without the patch marker its next command would be a lookup of
 * a table it never looked up, a nondeterminism error that stalls the run. Runs started before the marker keep the
 * old list; every new run records the marker and covers every table. Adding a table means one more marker here.
 */
export function defaultLakeTables(): readonly LakeTable[] {
  return patched('lake-tables-reconciliation-anomalies') ? LAKE_TABLES : TABLES_BEFORE_RECONCILIATION;
}
