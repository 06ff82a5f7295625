import { FEED_VENDOR_NAMES, createFeedSource } from './feeds/index.ts';
import { createReplaySource } from './replay/source.ts';
import type { ReferenceSymbol } from '../../core/schemas/reference.ts';
import { createSyntheticSource } from './synthetic/source.ts';
import type { TickSource } from './source.ts';

/**
 * The one registry of tick sources (`ticklake ingest --source <name>`). Each factory validates its own options
 * (a zod schema in the source's folder) and fails with CONFIG_INVALID naming the bad option.
 */
export interface CreatedSource {
  source: TickSource;
  /** Instruments the source knows up front, published to `reference.symbols` before any tick. */
  universe: readonly ReferenceSymbol[];
}

type Factory = (options: Record<string, unknown>) => CreatedSource;

export const SOURCES: Record<string, Factory> = {
  synthetic: (options) => {
    const source = createSyntheticSource(options);
    return { source, universe: source.universe };
  },
  replay: (options) => ({ source: createReplaySource(options as never), universe: [] }),
  ...Object.fromEntries(
    FEED_VENDOR_NAMES.map((vendor): [string, Factory] => [
      vendor,
      (options) => ({ source: createFeedSource(vendor, options), universe: [] }),
    ]),
  ),
};

export const SOURCE_NAMES = Object.keys(SOURCES);
