import { z } from 'zod';

/**
 * A daily report as stored and announced: where its files are (keys in the lake's bucket, and their s3:// URIs),
 * their sizes and digests, and the headline numbers. The `report.published` webhook carries it as `data`; the
 * Temporal workflow returns it. Rows never cross: a reader fetches the files.
 */
export const REPORT_EVENT_TYPE = 'report.published';

const fileSchema = z.object({
  key: z.string().min(1),
  uri: z.string().min(1),
  bytes: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const reportRefSchema = z.object({
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  html: fileSchema,
  pdf: fileSchema.nullable(),
  summary: z.object({
    symbols: z.number().int().nonnegative(),
    bars: z.number().int().nonnegative(),
    trades: z.number().int().nonnegative(),
    volume: z.number().nonnegative(),
    alerts: z.number().int().nonnegative(),
    anomalies: z.number().int().nonnegative(),
  }),
  generatedAtMs: z.number().int(),
});
export type ReportRef = z.infer<typeof reportRefSchema>;

export const reportPublishedSchema = z.object({
  type: z.literal(REPORT_EVENT_TYPE),
  timestamp: z.string(),
  data: reportRefSchema,
});

/** The objects of one day's report under the reports prefix: the same date always maps to the same keys. */
export function reportKeys(date: string): { html: string; pdf: string } {
  return { html: `date=${date}/report.html`, pdf: `date=${date}/report.pdf` };
}

/**
 * The announcement's `webhook-id`: the day and the HTML's digest. A retry, or re-rendering the same data, sends the
 * same id (the receiver dedupes it); a report re-rendered over changed data is a new announcement.
 */
export function reportWebhookId(ref: Pick<ReportRef, 'date' | 'html'>): string {
  return `report_${ref.date}_${ref.html.sha256.slice(0, 16)}`;
}

export function reportPayload(ref: ReportRef, nowMs: number): string {
  return JSON.stringify({ type: REPORT_EVENT_TYPE, timestamp: new Date(nowMs).toISOString(), data: ref });
}
