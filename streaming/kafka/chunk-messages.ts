import type { Message } from 'kafkajs';

export type TopicMessages = { topic: string; messages: Message[] };

/**
 * Splits messages into requests of at most `maxBytes` of values each (a single larger record goes alone). A
 * topic-partition's records in one request form one record batch, which must stay under the topic's
 * max.message.bytes.
 */
export function chunkTopicMessages(topicMessages: readonly TopicMessages[], maxBytes: number): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  let current: TopicMessages[] = [];
  let size = 0;
  for (const { topic, messages } of topicMessages) {
    let run: Message[] = [];
    for (const m of messages) {
      const bytes = typeof m.value === 'string' ? Buffer.byteLength(m.value) : (m.value?.length ?? 0);
      if (size + bytes > maxBytes && (run.length || current.length)) {
        if (run.length) current.push({ topic, messages: run });
        requests.push(current);
        current = [];
        run = [];
        size = 0;
      }
      run.push(m);
      size += bytes;
    }
    if (run.length) current.push({ topic, messages: run });
  }
  if (current.length) requests.push(current);
  return requests;
}
