import type { Kafka } from 'kafkajs';
import { TickLakeError } from '../core/errors.ts';
import { barSeries, MAX_GAP_US } from '../core/models/features.ts';
import { trainAll } from '../core/models/fit.ts';
import { scoreSeries } from '../core/models/score.ts';
import type { Bar } from '../core/schemas/bar.ts';
import type { AnomalyRow } from '../core/schemas/model.ts';
import { writeAnomalyDay } from '../lake/anomalies.ts';
import { readLatestModels, writeModels } from '../lake/models.ts';
import { readRows } from '../lake/reader.ts';
import type { Storage } from '../lake/storage/storage.ts';
import { barsTable } from '../lake/tables.ts';
import { publishModels } from '../streaming/models/model-cache.ts';
import { heartbeating } from './lake.ts';

/**
 * The anomaly model's batch half as activities: training over a trailing window of the lake's bars (models to the
 * lake's `models/` and the compacted `models` topic), and scoring a day's closed bars into the `anomalies` table.
 * Both idempotent: training is a function of the window's bars (same bars → same versions, nothing rewritten) and
 * republishing a model to a compacted topic leaves one record per symbol; scoring replaces the day's rows.
 */
export interface ModelActivityDeps {
  storage: Storage;
  kafka: Kafka;
  /** The `models` topic's full name (prefix applied). */
  modelsTopic: string;
  /** The default training window: this many days up to yesterday (UTC). */
  windowDays: number;
  minBars: number;
  threshold: number;
  heartbeatMs?: number;
}

const DAY_US = 86_400_000_000;

export interface TrainModelsInput {
  /** First and last day of the training window (`YYYY-MM-DD`, both included); default: windowDays to yesterday. */
  from?: string;
  to?: string;
}

export interface TrainModelsOutcome {
  from: string;
  to: string;
  bars: number;
  trained: number;
  /** Symbols with too few bars (or degenerate data): no model. */
  skipped: string[];
  /** Versions stored by this run (0 when it repeated an earlier one). */
  written: number;
  /** Symbols whose latest version changed. */
  changed: number;
  versions: Record<string, string>;
}

export interface ScoreDayInput {
  day: string;
}

export interface ScoreDayOutcome {
  day: string;
  bars: number;
  rows: number;
  flagged: number;
  /** Symbols with bars that day but no model: their bars are not scored. */
  unscored: string[];
  committed: number;
  unchanged: number;
}

export function dayStartUs(day: string): number {
  const ms = Date.parse(`${day}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(ms)) {
    throw new TickLakeError('INPUT_INVALID', `not a day (YYYY-MM-DD): ${JSON.stringify(day)}`);
  }
  return ms * 1000;
}

export const dayOf = (us: number) => new Date(Math.floor(us / 1000)).toISOString().slice(0, 10);

async function readBars(storage: Storage, fromUs: number, toUs: number): Promise<Bar[]> {
  const out: Bar[] = [];
  for await (const { rows } of readRows(storage, barsTable, { fromUs, toUs })) out.push(...rows);
  return out;
}

export function createModelActivities(deps: ModelActivityDeps) {
  const heartbeatMs = deps.heartbeatMs ?? 5_000;
  return {
    async trainModels(input: TrainModelsInput = {}): Promise<TrainModelsOutcome> {
      const to = input.to ?? dayOf(Date.now() * 1000 - DAY_US);
      const from = input.from ?? dayOf(dayStartUs(to) - (deps.windowDays - 1) * DAY_US);
      const fromUs = dayStartUs(from);
      const toUs = dayStartUs(to) + DAY_US;
      if (toUs <= fromUs) throw new TickLakeError('INPUT_INVALID', `--from ${from} is after --to ${to}`);
      return heartbeating(heartbeatMs, async () => {
        const bars = await readBars(deps.storage, fromUs, toUs);
        const { models, skipped } = trainAll(barSeries(bars), {
          minBars: deps.minBars,
          fromUs,
          toUs,
          // Not part of the version: a repeated run stores nothing new and keeps the first copy's time.
          trainedAt: Date.now(),
        });
        const stored = await writeModels(deps.storage, models);
        if (models.length > 0) {
          const producer = deps.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
          await producer.connect();
          try {
            await publishModels(producer, deps.modelsTopic, models);
          } finally {
            await producer.disconnect();
          }
        }
        return {
          from,
          to,
          bars: bars.length,
          trained: models.length,
          skipped,
          written: stored.written,
          changed: stored.changed.length,
          versions: Object.fromEntries(models.map((m) => [m.symbol, m.version])),
        };
      });
    },

    async scoreAnomalyDay(input: ScoreDayInput): Promise<ScoreDayOutcome> {
      const fromUs = dayStartUs(input.day);
      return heartbeating(heartbeatMs, async () => {
        // The bars just before midnight give the day's first bars their previous close, as the stream has it.
        const series = barSeries(await readBars(deps.storage, fromUs - MAX_GAP_US, fromUs + DAY_US));
        const models = new Map((await readLatestModels(deps.storage)).map((m) => [m.symbol, m]));
        const rows: AnomalyRow[] = [];
        const unscored: string[] = [];
        let bars = 0;
        for (const [symbol, list] of [...series].sort(([a], [b]) => (a < b ? -1 : 1))) {
          const dayBars = list.filter((b) => b.windowStart >= fromUs).length;
          bars += dayBars;
          const model = models.get(symbol);
          if (model === undefined) {
            if (dayBars > 0) unscored.push(symbol);
            continue;
          }
          rows.push(...scoreSeries(model, list, deps.threshold, fromUs));
        }
        const written = await writeAnomalyDay(deps.storage, input.day, rows);
        return {
          day: input.day,
          bars,
          rows: rows.length,
          flagged: rows.filter((r) => r.flagged).length,
          unscored,
          committed: written.committed,
          unchanged: written.unchanged,
        };
      });
    },
  };
}

export type ModelActivities = ReturnType<typeof createModelActivities>;
