import type { DlqReason } from '../../core/schemas/dlq.ts';
import { decodeRawTick, validationLimitsSchema } from '../../core/validate.ts';
import { rowProblem, TABLES, type TableDef, type SinkTableName } from '../../lake/tables.ts';
import { HEARTBEAT_KEY } from '../../core/schemas/heartbeat.ts';
import type { z } from 'zod';
import { TOPIC_CATALOG, type TopicKey } from '../../core/topics.ts';

/**
 * What each lake table is fed from, and how one Kafka record becomes one row. A record that does not fit the
 * table's schema becomes a dead letter (reason `table_schema_mismatch`), never a crash or a silent skip.
 */
export type Decoded = { kind: 'row'; row: unknown } | { kind: 'reject'; reason: DlqReason; detail: string };

export interface SinkTable {
  def: TableDef<unknown>;
  topic: TopicKey;
  /** Records that are not data (idle-partition heartbeats): decided by key, before anything is decoded. */
  isControl(key: Buffer | null): boolean;
  decode(value: Buffer | null): Decoded;
}

const HEARTBEAT = Buffer.from(HEARTBEAT_KEY);
// The raw table's parser is decodeRawTick, the hand-written mirror of the catalog's tickSchema (property-tested).
const noControl = () => false;

// The raw table keeps whatever the source sent if it is a well-formed tick; time bounds are the processor's job.
const RAW_LIMITS = validationLimitsSchema.parse({ maxBytes: 8 * 1024 * 1024, maxAheadUs: null, maxBehindUs: null });

/**
 * One record -> one row: JSON, then the topic's message schema from the catalog (version field and value
 * constraints included), then the lake columns' kinds. The first failure is the dead letter's detail.
 */
function parsedRow(def: TableDef<unknown>, schema: z.ZodType, value: Buffer | null): Decoded {
  if (!value) return { kind: 'reject', reason: 'table_schema_mismatch', detail: 'empty record value' };
  let raw: unknown;
  try {
    raw = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return { kind: 'reject', reason: 'table_schema_mismatch', detail: `invalid JSON: ${(err as Error).message}` };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const detail = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || 'value'}: ${i.message}`)
      .join('; ');
    return { kind: 'reject', reason: 'table_schema_mismatch', detail };
  }
  const problem = rowProblem(def, parsed.data);
  return problem
    ? { kind: 'reject', reason: 'table_schema_mismatch', detail: problem }
    : { kind: 'row', row: parsed.data };
}

function fromTopic(table: 'enriched' | 'bars' | 'alerts'): SinkTable {
  const def = TABLES[table] as TableDef<unknown>;
  const schema = TOPIC_CATALOG[table].schema;
  return { def, topic: table, isControl: noControl, decode: (v) => parsedRow(def, schema, v) };
}

export const SINK_TABLES: Record<SinkTableName, SinkTable> = {
  raw: {
    def: TABLES.raw as TableDef<unknown>,
    topic: 'raw',
    isControl: (key) => key !== null && HEARTBEAT.equals(key),
    decode(value) {
      const d = decodeRawTick(value, RAW_LIMITS, 0);
      return d.ok
        ? { kind: 'row', row: d.tick }
        : { kind: 'reject', reason: 'table_schema_mismatch', detail: `${d.reason}: ${d.detail}` };
    },
  },
  enriched: fromTopic('enriched'),
  bars: fromTopic('bars'),
  alerts: fromTopic('alerts'),
};
