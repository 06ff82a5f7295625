import { ApplicationFailure, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { RenderReportOutcome, ReportActivities } from '../activities/report.ts';
import { dayRangeUs, previousDay } from '../core/reports/model.ts';
import { SEARCH_ATTRIBUTES } from './constants.ts';

// Rendering reads a day of bars and prints a PDF: seconds to a minute. Announcing is one POST, retried for hours so
// a receiver down overnight still gets the morning's report.
const { renderDailyReport } = proxyActivities<ReportActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 6 },
});
const { announceDailyReport } = proxyActivities<ReportActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 30 },
});

export interface DailyReportInput {
  /** `YYYY-MM-DD` (UTC); default: the day before the run started (the schedule runs just after midnight). */
  date?: string;
}

export type DailyReportOutcome =
  | (Extract<RenderReportOutcome, { status: 'written' }> & { announced: string | null })
  | Extract<RenderReportOutcome, { status: 'no_data' }>;

/**
 * Renders one day's report into the lake's `reports/` prefix and announces it. A day with no bars is an outcome
 * (`no_data`, on the run's search attributes), not a failure: the schedule keeps running through quiet days.
 */
export async function dailyReportWorkflow(input: DailyReportInput = {}): Promise<DailyReportOutcome> {
  const date = input.date ?? previousDay(Date.now());
  try {
    dayRangeUs(date);
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'INPUT_INVALID');
  }
  if (!workflowInfo().typedSearchAttributes.get(SEARCH_ATTRIBUTES.date)) {
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTES.table, value: 'reports' },
      { key: SEARCH_ATTRIBUTES.date, value: new Date(`${date}T00:00:00Z`) },
    ]);
  }
  const rendered = await renderDailyReport({ date, generatedAtMs: Date.now() });
  if (rendered.status === 'no_data') {
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.outcome, value: 'no_data' }]);
    return rendered;
  }
  const announced = await announceDailyReport(rendered.ref);
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.outcome, value: announced.status === 'announced' ? 'published' : 'written' },
  ]);
  return { ...rendered, announced: announced.status === 'announced' ? announced.webhookId : null };
}
