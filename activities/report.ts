import { TickLakeError } from '../core/errors.ts';
import { dayRangeUs } from '../core/reports/model.ts';
import type { ReportRef } from '../core/schemas/report.ts';
import { announceReport, type AnnounceOptions } from '../infra/reports/announce.ts';
import { writeDailyReport, type DailyReportDeps } from '../infra/reports/daily.ts';

/**
 * The daily report as two activities, so a receiver that is down retries the announcement alone: rendering writes
 * the day's two objects (the same keys for the same date, replaced whole: idempotent), announcing sends one signed
 * webhook whose id is fixed by the report's content (a retry is a duplicate the receiver drops). Only the files'
 * keys and the headline numbers cross Temporal.
 */
export interface ReportActivityDeps extends DailyReportDeps {
  /** Unset: reports are not announced. */
  announce?: Omit<AnnounceOptions, 'nowMs'>;
}

export interface RenderReportInput {
  date: string;
  /** The workflow's clock, so a retried render of the same data writes the same HTML (and announces the same id). */
  generatedAtMs: number;
}

export type RenderReportOutcome =
  { status: 'written'; ref: ReportRef } | { status: 'no_data'; date: string; daysWithBars: string[] };

export function createReportActivities(deps: ReportActivityDeps) {
  return {
    async renderDailyReport(input: RenderReportInput): Promise<RenderReportOutcome> {
      try {
        dayRangeUs(input.date);
      } catch (err) {
        throw new TickLakeError('INPUT_INVALID', (err as Error).message);
      }
      const r = await writeDailyReport(deps, input.date, { generatedAtMs: input.generatedAtMs });
      return r.status === 'written' ? { status: 'written', ref: r.ref } : r;
    },

    async announceDailyReport(
      ref: ReportRef,
    ): Promise<{ status: 'announced'; webhookId: string } | { status: 'not_configured' }> {
      if (!deps.announce) return { status: 'not_configured' };
      const r = await announceReport(ref, deps.announce);
      return { status: 'announced', webhookId: r.webhookId };
    },
  };
}

export type ReportActivities = ReturnType<typeof createReportActivities>;
