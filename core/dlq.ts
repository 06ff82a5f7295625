import { DLQ_SCHEMA_VERSION, type DlqReason, type DlqRecord } from './schemas/dlq.ts';

/** A dead letter: the original bytes verbatim (base64) plus where they came from and why they were refused. */
export function dlqRecord(args: {
  reason: DlqReason;
  detail: string;
  sourceTopic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  component: string;
  nowUs: number;
}): DlqRecord {
  return {
    v: DLQ_SCHEMA_VERSION,
    reason: args.reason,
    detail: args.detail.length > 1000 ? `${args.detail.slice(0, 1000)}…` : args.detail,
    sourceTopic: args.sourceTopic,
    partition: args.partition,
    offset: args.offset,
    key: args.key,
    original: args.value ? args.value.toString('base64') : '',
    ts: args.nowUs,
    component: args.component,
  };
}
