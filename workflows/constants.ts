import {
  ActivityFailure,
  ChildWorkflowFailure,
  defineSearchAttributeKey,
  SearchAttributeType,
} from '@temporalio/common';

/**
 * Workflow ids, search attributes and schedule ids in one place, so the worker, clients, schedules, the local stack
 * and docs never spell them twice. Ids read as what the run did (`compact/raw/2026-11-20/14`), so the Temporal UI's
 * list answers "what was compacted when" by itself; search attributes answer it by query
 * (`TicklakeTable = "raw" AND TicklakeOutcome = "failed"`).
 */
export const WORKFLOW_IDS = {
  healthCheck: (requestId: string) => `health-check/${requestId}`,
  compactionSweep: (runKey: string) => `compaction-sweep/${runKey}`,
  /** `partition` is the lake's `dt=YYYY-MM-DD/hour=HH`; the id reads `compact/raw/2026-11-20/14`. */
  compactPartition: (table: string, partition: string) => {
    const p = partitionParts(partition);
    return p ? `compact/${table}/${p.day}/${p.hour}` : `compact/${table}/${partition}`;
  },
  vacuum: (runKey: string) => `vacuum/${runKey}`,
  warehouseLoadSweep: (runKey: string) => `warehouse-load/${runKey}`,
  /** One warehouse table's day: `load/ticks/2026-11-20`. */
  warehouseLoad: (table: string, day: string) => `load/${table}/${day}`,
  backfill: (table: string, from: string, to: string) => `backfill/${table}/${from}..${to}`,
  /** One day's report, on demand: `report/2026-11-20` (the schedule's runs are `daily-report/scheduled-<time>`). */
  dailyReport: (date: string) => `report/${date}`,
  /** A reconciliation run: `reconcile/scheduled`, `reconcile/<request id>`. */
  reconciliation: (runKey: string) => `reconcile/${runKey}`,
  modelTraining: (runKey: string) => `models-train/${runKey}`,
  /** One day's batch scoring: `anomalies-score/2026-11-20`, or a schedule's run key. */
  anomalyScoring: (runKey: string) => `anomalies-score/${runKey}`,
} as const;

/** The day and hour of a lake partition path (`dt=YYYY-MM-DD/hour=HH`), or undefined for anything else. */
export function partitionParts(partition: string): { day: string; hour: string } | undefined {
  const m = /^dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})$/.exec(partition);
  return m ? { day: m[1]!, hour: m[2]! } : undefined;
}

export const SEARCH_ATTRIBUTES = {
  table: defineSearchAttributeKey('TicklakeTable', SearchAttributeType.KEYWORD),
  /** The lake partition as the lake writes it, `dt=YYYY-MM-DD/hour=HH`; a warehouse load's is its day, `dt=YYYY-MM-DD`. */
  partition: defineSearchAttributeKey('TicklakePartition', SearchAttributeType.KEYWORD),
  /** The partition's day, so the UI can filter a date range. */
  date: defineSearchAttributeKey('TicklakeDate', SearchAttributeType.DATETIME),
  /**
   * What the run ended with: committed, noop, conflict, nothing_to_do, failed (compaction); loaded, unchanged, failed
   * (loads); agreed, disagreement (reconciliation).
   */
  outcome: defineSearchAttributeKey('TicklakeOutcome', SearchAttributeType.KEYWORD),
} as const;

/** `temporal server start-dev --search-attribute` / `temporal operator search-attribute create --type` names. */
export const SEARCH_ATTRIBUTE_CLI_TYPES: Record<string, string> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.DATETIME]: 'Datetime',
  [SearchAttributeType.TEXT]: 'Text',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.DOUBLE]: 'Double',
  [SearchAttributeType.BOOL]: 'Bool',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
};

/** `Name=Type` pairs for every ticklake search attribute, as the Temporal CLI takes them. */
export function searchAttributeFlags(): string[] {
  return Object.values(SEARCH_ATTRIBUTES).map((k) => `${k.name}=${SEARCH_ATTRIBUTE_CLI_TYPES[k.type]}`);
}

/**
 * A lake partition is "closed" this long after its hour ends: past the processor's allowed lateness and the sink's
 * flush, so no new file lands in it. Compaction (scheduled or backfill) touches closed partitions only.
 */
export const CLOSED_AFTER_MINUTES = 10;

/** The closed-before bound in µs for a workflow's `Date.now()` (deterministic inside a workflow). */
export const closedBeforeUs = (nowMs: number, minutes = CLOSED_AFTER_MINUTES) => (nowMs - minutes * 60_000) * 1000;

/** The lake tables the batch layer maintains (lake/tables.ts declares them; a unit test keeps the two equal). */
export const LAKE_TABLES = ['raw', 'enriched', 'bars', 'alerts', 'reconciliation', 'anomalies'] as const;

/**
 * The warehouse table each lake table loads into (warehouse/tables.ts declares them with their schemas; a unit test
 * keeps the two equal). Workflows may not import warehouse/, so the names they need live here.
 */
export const WAREHOUSE_TABLE_OF: Record<(typeof LAKE_TABLES)[number], string> = {
  raw: 'ticks',
  enriched: 'ticks_enriched',
  bars: 'bars_1m',
  alerts: 'alerts',
  reconciliation: 'reconciliation',
  anomalies: 'anomalies',
};

/** A lake or warehouse table name -> both, or undefined. */
export function tableNames(name: string): { lake: string; warehouse: string } | undefined {
  for (const [lake, warehouse] of Object.entries(WAREHOUSE_TABLE_OF)) {
    if (name === lake || name === warehouse) return { lake, warehouse };
  }
  return undefined;
}

/** A child workflow's or activity's failure by its reason (the file and column), not "execution failed". */
export function failureMessage(err: unknown): string {
  let e = err;
  while ((e instanceof ChildWorkflowFailure || e instanceof ActivityFailure) && e.cause) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}
