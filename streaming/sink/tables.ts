import type { DlqReason } from '../../core/schemas/dlq.ts';
import { decodeRawTick, validationLimitsSchema } from '../../core/validate.ts';
import { rowProblem, TABLES, type TableDef, type TableName } from '../../lake/tables.ts';
import { HEARTBEAT_KEY } from '../../core/schemas/heartbeat.ts';
import type { TopicKey } from '../topics.ts';

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
const noControl = () => false;

// The raw table keeps whatever the source sent if it is a well-formed tick; time bounds are the processor's job.
const RAW_LIMITS = validationLimitsSchema.parse({ maxBytes: 8 * 1024 * 1024, maxAheadUs: null, maxBehindUs: null });

function jsonRow(def: TableDef<unknown>, value: Buffer | null): Decoded {
  if (!value) return { kind: 'reject', reason: 'table_schema_mismatch', detail: 'empty record value' };
  let row: unknown;
  try {
    row = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return { kind: 'reject', reason: 'table_schema_mismatch', detail: `invalid JSON: ${(err as Error).message}` };
  }
  if (row === null || typeof row !== 'object') {
    return { kind: 'reject', reason: 'table_schema_mismatch', detail: 'not a JSON object' };
  }
  const problem = rowProblem(def, row);
  return problem ? { kind: 'reject', reason: 'table_schema_mismatch', detail: problem } : { kind: 'row', row };
}

export const SINK_TABLES: Record<TableName, SinkTable> = {
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
  enriched: {
    def: TABLES.enriched as TableDef<unknown>,
    topic: 'enriched',
    isControl: noControl,
    decode: (v) => jsonRow(TABLES.enriched as TableDef<unknown>, v),
  },
  bars: {
    def: TABLES.bars as TableDef<unknown>,
    topic: 'bars',
    isControl: noControl,
    decode: (v) => jsonRow(TABLES.bars as TableDef<unknown>, v),
  },
  alerts: {
    def: TABLES.alerts as TableDef<unknown>,
    topic: 'alerts',
    isControl: noControl,
    decode: (v) => jsonRow(TABLES.alerts as TableDef<unknown>, v),
  },
};
