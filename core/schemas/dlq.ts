import { z } from 'zod';

/**
 * A record that could not be processed (`ticks.dlq`). The original bytes are kept verbatim (base64), with
 * where they came from and why they were rejected, so nothing is lost and everything can be replayed.
 */
export const DLQ_SCHEMA_VERSION = 1 as const;

export const DLQ_REASONS = [
  'invalid_json',
  'schema_violation',
  'price_out_of_range',
  'size_out_of_range',
  'crossed_quote',
  'timestamp_too_far_ahead',
  'timestamp_too_far_behind',
  'unknown_symbol',
  'payload_too_large',
  'table_schema_mismatch',
] as const;
export type DlqReason = (typeof DLQ_REASONS)[number];

export const dlqRecordSchema = z.object({
  v: z.literal(DLQ_SCHEMA_VERSION),
  reason: z.enum(DLQ_REASONS),
  detail: z.string(),
  sourceTopic: z.string(),
  partition: z.number().int().nonnegative(),
  offset: z.string().regex(/^\d+$/),
  key: z.string().nullable(),
  /** The original record value, base64. */
  original: z.string(),
  /** When it was dead-lettered, µs since epoch. */
  ts: z.number().int(),
  component: z.string(),
});

export type DlqRecord = z.infer<typeof dlqRecordSchema>;
