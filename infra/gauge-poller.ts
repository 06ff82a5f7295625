import type { Logger } from './logger.ts';

export interface GaugePoller {
  /** Reads now (or joins the read in flight) and sets the gauges. */
  poll(): Promise<void>;
  stop(): void;
}

/**
 * Gauges refreshed from a read every `intervalMs` (and once at start), one read at a time. A failing read keeps the
 * last values and is logged once, not every period, with one line when it reads again: a table that does not exist
 * yet is the common case before the first batch run.
 */
export function startGaugePoller<T>(opts: {
  what: string;
  read: () => Promise<T>;
  apply: (value: T) => void;
  intervalMs: number;
  log: Logger;
}): GaugePoller {
  let failing = false;
  let running: Promise<void> | undefined;
  const poll = () =>
    (running ??= opts
      .read()
      .then((value) => {
        opts.apply(value);
        if (failing) opts.log.info(`${opts.what} readable again`);
        failing = false;
      })
      .catch((err: Error) => {
        if (!failing) opts.log.warn(`could not read ${opts.what}`, { error: err.message });
        failing = true;
      })
      .finally(() => (running = undefined)));
  const timer = setInterval(() => void poll(), opts.intervalMs);
  timer.unref();
  void poll();
  return { poll, stop: () => clearInterval(timer) };
}
