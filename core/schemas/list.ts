import { z } from 'zod';

/** A list that also accepts "A,B,C" (command-line and environment input). */
export function listOf<T extends z.ZodType>(item: T) {
  return z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : v,
    z.array(item),
  );
}
