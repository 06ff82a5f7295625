import { z } from 'zod';
import { symbolSchema } from './tick.ts';

/**
 * The symbol master (`reference.symbols`, compacted, key = symbol; seeded from reference/symbols.csv).
 * `beta` is the instrument's sensitivity to the market index: used by the synthetic market and by enrichment.
 */
export const referenceSymbolSchema = z.object({
  symbol: symbolSchema,
  name: z.string().min(1),
  sector: z.string().min(1),
  exchange: z.string().min(1),
  currency: z.string().length(3),
  beta: z.number().finite().default(1),
});

export type ReferenceSymbol = z.infer<typeof referenceSymbolSchema>;
