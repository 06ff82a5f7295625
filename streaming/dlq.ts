import type { Message } from 'kafkajs';
import { dlqRecord } from '../core/dlq.ts';
import type { DlqReason } from '../core/schemas/dlq.ts';

/** A record refused by a stage, with where it was read. */
export interface DeadLetter {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  reason: DlqReason;
  detail: string;
}

/**
 * The `ticks.dlq` messages for refused records: the one place dead letters are built, whether they ride in the
 * processor's transaction or the sink's plain send. Key = the original key.
 */
export function dlqMessages(
  letters: readonly DeadLetter[],
  ctx: { sourceTopic: string; component: string; nowUs: number },
): Message[] {
  return letters.map((l) => ({
    key: l.key,
    value: JSON.stringify(
      dlqRecord({
        reason: l.reason,
        detail: l.detail,
        sourceTopic: ctx.sourceTopic,
        partition: l.partition,
        offset: l.offset,
        key: l.key,
        value: l.value,
        component: ctx.component,
        nowUs: ctx.nowUs,
      }),
    ),
  }));
}
