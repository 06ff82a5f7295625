import type { Message } from 'kafkajs';
import { lateTick } from '../../core/schemas/late.ts';
import type { PipelineOutputs } from '../../core/pipeline.ts';
import { dlqMessages } from '../dlq.ts';
import type { TopicMessages } from '../kafka/chunk-messages.ts';

export interface OutputTopics {
  raw: string;
  enriched: string;
  bars: string;
  late: string;
  dlq: string;
}

/** A batch's pipeline outputs as the Kafka messages of one transaction, key = symbol (dead letters: original key). */
export function outputMessages(
  out: PipelineOutputs,
  topics: OutputTopics,
  partition: number,
  nowUs: number,
): TopicMessages[] {
  const list: TopicMessages[] = [];
  const add = (topic: string, messages: Message[]) => {
    if (messages.length) list.push({ topic, messages });
  };
  add(
    topics.enriched,
    out.enriched.map((e) => ({ key: e.symbol, value: JSON.stringify(e) })),
  );
  add(
    topics.bars,
    out.bars.map((b) => ({ key: b.symbol, value: JSON.stringify(b) })),
  );
  add(
    topics.late,
    out.late.map((l) => ({ key: l.tick.symbol, value: JSON.stringify(lateTick(l)) })),
  );
  add(
    topics.dlq,
    dlqMessages(
      out.rejected.map((r) => ({ partition, ...r.record, reason: r.reason, detail: r.detail })),
      { sourceTopic: topics.raw, component: 'processor', nowUs },
    ),
  );
  return list;
}
