import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { ModelScorer } from '../../core/alerts/engine.ts';
import { ANOMALY_SCORER, StreamScorer } from '../../core/models/score.ts';
import type { Config } from '../../core/config.ts';
import { topicName } from '../../core/topics.ts';
import type { Logger } from '../../infra/logger.ts';
import { createModelMetrics } from './metrics.ts';
import { ModelCache } from './model-cache.ts';

/**
 * The speed layer's caller of the model: the `anomaly` scorer over the models topic's latest version per symbol
 * (ModelCache, tailed while running), scoring each closed bar with core/models/score.ts StreamScorer, the batch
 * path's scorer. A symbol without a model is scored by nothing and counted (ticklake_model_unscored_bars_total).
 */
export interface LiveModelScorer {
  scorers: Record<string, ModelScorer>;
  cache: ModelCache;
  stop(): Promise<void>;
}

export async function startLiveModelScorer(opts: {
  kafka: Kafka;
  config: Config;
  log: Logger;
  registry?: Registry;
}): Promise<LiveModelScorer> {
  const metrics = createModelMetrics(opts.registry);
  const cache: ModelCache = new ModelCache(opts.kafka, topicName(opts.config, 'models'), opts.log, {
    loaded: (m) => {
      metrics.updates.inc({ outcome: 'applied' });
      metrics.loaded.set(cache.size);
      opts.log.info('model loaded', { symbol: m.symbol, version: m.version });
    },
    invalid: () => metrics.updates.inc({ outcome: 'invalid' }),
  });
  const stream = new StreamScorer(
    (symbol) => cache.get(symbol),
    (symbol) => metrics.unscored.inc({ symbol }),
  );
  await cache.start();
  metrics.loaded.set(cache.size);
  const scorer: ModelScorer = (bar) => {
    const s = stream.score(bar);
    if (s === null) return null;
    metrics.scored.inc();
    return { score: s.score, modelVersion: s.modelVersion };
  };
  return { scorers: { [ANOMALY_SCORER]: scorer }, cache, stop: () => cache.stop() };
}
