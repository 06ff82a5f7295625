import { TickLakeError } from '../core/errors.ts';
import {
  anomalyModelSchema,
  modelsManifestSchema,
  type AnomalyModel,
  type ModelsManifest,
} from '../core/schemas/model.ts';
import type { ObjectInfo, Storage } from './storage/storage.ts';

/**
 * The anomaly models in the lake, beside the tables (not a table: a few kilobytes per symbol, read whole):
 *
 *   models/<symbol>/<version>.json   one object per version, written once (its first trainedAt is kept)
 *   models/latest.json               symbol → the version scoring uses (ModelsManifest)
 *
 * Writing is idempotent: a version already stored is not rewritten, and the manifest is rewritten only when a
 * symbol's version changes, so a training run repeated on the same bars changes nothing.
 */
export const MODELS_PREFIX = 'models/';
export const MODELS_MANIFEST = `${MODELS_PREFIX}latest.json`;

export const modelKey = (symbol: string, version: string) => `${MODELS_PREFIX}${symbol}/${version}.json`;

function parse<T>(bytes: Uint8Array, what: string, schema: { parse(v: unknown): T }): T {
  try {
    return schema.parse(JSON.parse(new TextDecoder().decode(bytes)));
  } catch (err) {
    throw new TickLakeError('MANIFEST_CORRUPT', `${what} is not valid: ${(err as Error).message}`, {
      details: { what },
    });
  }
}

export async function readModelsManifest(storage: Storage): Promise<ModelsManifest | null> {
  const body = await storage.get(MODELS_MANIFEST);
  return body === null ? null : parse(body, MODELS_MANIFEST, modelsManifestSchema);
}

export async function readModel(storage: Storage, symbol: string, version: string): Promise<AnomalyModel | null> {
  const body = await storage.get(modelKey(symbol, version));
  return body === null ? null : parse(body, modelKey(symbol, version), anomalyModelSchema);
}

/** The latest model of every symbol in the manifest (or of `symbols` only). */
export async function readLatestModels(storage: Storage, symbols?: readonly string[]): Promise<AnomalyModel[]> {
  const manifest = await readModelsManifest(storage);
  if (manifest === null) return [];
  const wanted = Object.entries(manifest.models).filter(([s]) => symbols === undefined || symbols.includes(s));
  const out: AnomalyModel[] = [];
  for (let i = 0; i < wanted.length; i += 16) {
    const chunk = await Promise.all(wanted.slice(i, i + 16).map(([s, v]) => readModel(storage, s, v)));
    for (const [j, m] of chunk.entries()) {
      if (m === null) {
        const [s, v] = wanted[i + j]!;
        throw new TickLakeError('MANIFEST_CORRUPT', `${MODELS_MANIFEST} names ${s} ${v}, which is not stored`);
      }
      out.push(m);
    }
  }
  return out;
}

export interface WriteModelsResult {
  /** Versions stored by this call (new content). */
  written: number;
  /** Symbols whose latest version changed. */
  changed: string[];
}

/** Stores the models and makes them the latest of their symbols. */
export async function writeModels(
  storage: Storage,
  models: readonly AnomalyModel[],
  now: number = Date.now(),
): Promise<WriteModelsResult> {
  let written = 0;
  for (let i = 0; i < models.length; i += 16) {
    const made = await Promise.all(
      models.slice(i, i + 16).map((m) => storage.putIfAbsent(modelKey(m.symbol, m.version), JSON.stringify(m))),
    );
    written += made.filter(Boolean).length;
  }
  const before = (await readModelsManifest(storage))?.models ?? {};
  const next: Record<string, string> = { ...before };
  const changed: string[] = [];
  for (const m of models) {
    if (next[m.symbol] !== m.version) changed.push(m.symbol);
    next[m.symbol] = m.version;
  }
  if (changed.length > 0) {
    const sorted = Object.fromEntries(Object.entries(next).sort(([a], [b]) => (a < b ? -1 : 1)));
    const manifest: ModelsManifest = { v: 1, updatedAt: now, models: sorted };
    await storage.put(MODELS_MANIFEST, JSON.stringify(manifest));
  }
  return { written, changed: changed.sort() };
}

/** A model object is written right after its training: its write time bounds `trainedAt` from above. */
const WRITE_AFTER_TRAINING_MS = 10 * 60_000;

/**
 * The versions per symbol that can have been live between `fromMs` and `untilMs`, oldest first: the newest written
 * by `fromMs` and every one trained up to `untilMs` (reconciliation scores a past bar with the version live then).
 * Versions are written once and never deleted, so the listing's write times pick them without reading the rest.
 */
export async function readModelHistory(
  storage: Storage,
  fromMs: number,
  untilMs: number,
): Promise<Map<string, AnomalyModel[]>> {
  const bySymbol = new Map<string, { before?: ObjectInfo; during: ObjectInfo[] }>();
  for (const o of await storage.list(MODELS_PREFIX)) {
    if (o.key === MODELS_MANIFEST) continue;
    const symbol = o.key.slice(MODELS_PREFIX.length, o.key.lastIndexOf('/'));
    const at = o.lastModified.getTime();
    if (at > untilMs + WRITE_AFTER_TRAINING_MS) continue;
    const s = bySymbol.get(symbol) ?? { during: [] };
    if (at > fromMs) s.during.push(o);
    else if (!s.before || at > s.before.lastModified.getTime()) s.before = o;
    bySymbol.set(symbol, s);
  }
  const keys = [...bySymbol.values()].flatMap((s) => [...(s.before ? [s.before] : []), ...s.during].map((o) => o.key));
  const out = new Map<string, AnomalyModel[]>();
  for (let i = 0; i < keys.length; i += 16) {
    const chunk = await Promise.all(
      keys.slice(i, i + 16).map(async (key) => {
        const body = await storage.get(key);
        return body === null ? null : parse(body, key, anomalyModelSchema);
      }),
    );
    for (const m of chunk) {
      if (m === null || m.trainedAt > untilMs) continue;
      const list = out.get(m.symbol) ?? [];
      list.push(m);
      out.set(m.symbol, list);
    }
  }
  for (const list of out.values()) list.sort((a, b) => a.trainedAt - b.trainedAt);
  return out;
}
