import { LEDGER_TABLE } from './tables.ts';
import { tableRef, type DatasetRef } from './sql.ts';

/**
 * Analyst views, created by `ticklake warehouse apply` next to the tables. Every view reads the loaded tables only,
 * so it is as fresh as the last load (the load period, 15 minutes, not the hourly compaction).
 */
export interface ViewDef {
  name: string;
  description: string;
  sql: (ds: DatasetRef) => string;
}

export const VIEWS: readonly ViewDef[] = [
  {
    name: 'daily_ohlcv',
    description:
      'Per symbol and day: open (first bar), high, low, close (last bar), volume, volume-weighted price, trades, bars',
    sql: (ds) => `SELECT symbol, DATE(window_start) AS day,
  ARRAY_AGG(open ORDER BY window_start LIMIT 1)[OFFSET(0)] AS open,
  MAX(high) AS high,
  MIN(low) AS low,
  ARRAY_AGG(close ORDER BY window_start DESC LIMIT 1)[OFFSET(0)] AS close,
  SUM(volume) AS volume,
  SAFE_DIVIDE(SUM(vwap * volume), SUM(volume)) AS vwap,
  SUM(trades) AS trades,
  COUNT(*) AS bars
FROM ${tableRef(ds, 'bars_1m')}
GROUP BY symbol, day`,
  },
  {
    name: 'top_movers',
    description: "Per day, symbols ranked by the size of their open-to-close move (rank 1 = the day's biggest mover)",
    sql: (ds) => `SELECT day, symbol, open, close, volume,
  SAFE_DIVIDE(close - open, open) AS change,
  RANK() OVER (PARTITION BY day ORDER BY ABS(SAFE_DIVIDE(close - open, open)) DESC) AS mover_rank
FROM ${tableRef(ds, 'daily_ohlcv')}`,
  },
  {
    name: 'vwap_deviation',
    description:
      "Per 1-minute bar: the close against the session's volume-weighted price so far (UTC day), in basis points",
    sql: (ds) => `SELECT symbol, window_start, close, volume, session_vwap,
  SAFE_DIVIDE(close - session_vwap, session_vwap) * 10000 AS deviation_bps
FROM (
  SELECT symbol, window_start, close, volume,
    SAFE_DIVIDE(
      SUM(vwap * volume) OVER (PARTITION BY symbol, DATE(window_start) ORDER BY window_start ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
      SUM(volume) OVER (PARTITION BY symbol, DATE(window_start) ORDER BY window_start ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    ) AS session_vwap
  FROM ${tableRef(ds, 'bars_1m')}
)`,
  },
  {
    // The lake has no DLQ or late-tick tables (the sink lands raw, enriched, bars and alerts; ticks.dlq and
    // ticks.late stay in Kafka), so reasons per day cannot be counted here. What the lake does show: ticks that
    // never became enriched ticks (dead-lettered, late or duplicate in the processor), bars revised by late trades,
    // and duplicates the loader removed (the ledger's stored rows minus loaded rows).
    name: 'data_quality',
    description:
      'Per day: raw and enriched ticks and the difference (dead-lettered, late or duplicate in the processor; the ' +
      'lake keeps no DLQ or late table, so no reasons), bars and bars revised by late trades, duplicates removed ' +
      'at load, alerts',
    sql: (ds) => `WITH days AS (
  SELECT DATE(ts) AS day FROM ${tableRef(ds, 'ticks')} GROUP BY day
  UNION DISTINCT SELECT DATE(ts) FROM ${tableRef(ds, 'ticks_enriched')} GROUP BY 1
  UNION DISTINCT SELECT DATE(window_start) FROM ${tableRef(ds, 'bars_1m')} GROUP BY 1
),
raw AS (SELECT DATE(ts) AS day, COUNT(*) AS n FROM ${tableRef(ds, 'ticks')} GROUP BY day),
enriched AS (SELECT DATE(ts) AS day, COUNT(*) AS n FROM ${tableRef(ds, 'ticks_enriched')} GROUP BY day),
bars AS (
  SELECT DATE(window_start) AS day, COUNT(*) AS n, COUNTIF(revision > 0) AS revised
  FROM ${tableRef(ds, 'bars_1m')} GROUP BY day
),
alerts AS (SELECT DATE(ts) AS day, COUNT(*) AS n FROM ${tableRef(ds, 'alerts')} GROUP BY day),
ledger AS (
  SELECT day, SUM(lake_rows - loaded_rows) AS removed FROM (
    SELECT table_name, day, lake_rows, loaded_rows,
      ROW_NUMBER() OVER (PARTITION BY table_name, day ORDER BY recorded_at DESC, lake_seq DESC) AS rn
    FROM ${tableRef(ds, LEDGER_TABLE)} WHERE outcome = 'loaded'
  ) WHERE rn = 1 GROUP BY day
)
SELECT d.day,
  IFNULL(raw.n, 0) AS raw_ticks,
  IFNULL(enriched.n, 0) AS enriched_ticks,
  IFNULL(raw.n, 0) - IFNULL(enriched.n, 0) AS not_enriched,
  IFNULL(bars.n, 0) AS bars,
  IFNULL(bars.revised, 0) AS revised_bars,
  IFNULL(ledger.removed, 0) AS duplicates_removed_at_load,
  IFNULL(alerts.n, 0) AS alerts
FROM days d
LEFT JOIN raw ON raw.day = d.day
LEFT JOIN enriched ON enriched.day = d.day
LEFT JOIN bars ON bars.day = d.day
LEFT JOIN alerts ON alerts.day = d.day
LEFT JOIN ledger ON ledger.day = CAST(d.day AS STRING)`,
  },
];
