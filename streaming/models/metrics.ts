import { Counter, Gauge, type Registry } from 'prom-client';

/** The speed layer's model metrics (`ticklake_model_*`): what was scored, what could not be, and by which models. */
export function createModelMetrics(registry?: Registry) {
  const registers = registry ? [registry] : [];
  return {
    scored: new Counter({
      name: 'ticklake_model_scored_bars_total',
      help: 'Closed bars the model rule scored (every evaluation, a bar revision included)',
      registers,
    }),
    unscored: new Counter({
      name: 'ticklake_model_unscored_bars_total',
      help: 'Closed bars of symbols without a model yet: scored by nothing (no alert can come from them)',
      labelNames: ['symbol'],
      registers,
    }),
    loaded: new Gauge({
      name: 'ticklake_model_symbols',
      help: 'Symbols with a model read from the models topic',
      registers,
    }),
    updates: new Counter({
      name: 'ticklake_model_updates_total',
      help: 'Model records read from the models topic, by outcome (applied, invalid)',
      labelNames: ['outcome'],
      registers,
    }),
  };
}
export type ModelMetrics = ReturnType<typeof createModelMetrics>;
