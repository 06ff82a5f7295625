import type { Command } from 'commander';

/**
 * Progress of long CLI work (replay, compaction, vacuum, loads) on stderr, so stdout stays the command's result.
 * On a terminal: one line redrawn in place with a bar, count/total, rate and ETA. Elsewhere (CI, a pipe, a log
 * file): a plain line every `plainIntervalMs`, because carriage returns make logs unreadable. Silent with --json
 * or --quiet, where stderr may be parsed or is unwanted.
 */
export type ProgressMode = 'tty' | 'plain' | 'silent';

export interface ProgressSnapshot {
  label: string;
  done: number;
  /** Unknown for open-ended work: no bar, no ETA. */
  total?: number;
  /** 0..1 when the caller knows how far it is better than done/total (a replay's bytes read vs rows counted). */
  fraction?: number;
  unit: string;
  /** `unit` per second over the recent window; undefined until two samples exist. */
  rate?: number;
  /** Seconds left; undefined when total and fraction are unknown or nothing moved yet. */
  etaSec?: number;
  elapsedSec: number;
  /** What it is doing now (a partition, a stage). */
  detail?: string;
}

export interface ProgressOptions {
  label: string;
  total?: number;
  unit?: string;
  mode: ProgressMode;
  write?: (text: string) => void;
  now?: () => number;
  /** Minimum time between two terminal redraws. */
  ttyIntervalMs?: number;
  /** Time between two plain lines. */
  plainIntervalMs?: number;
  /** The rate is measured over this recent window, so a pause or a burst shows within seconds. */
  rateWindowMs?: number;
  /** Terminal width; the bar shrinks to fit. */
  columns?: number;
}

const BAR_WIDTH = 24;

/** 1234567 → "1.23M"; small numbers as they are. */
export function compactNumber(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** Seconds as "45s", "3m05s", "2h04m". */
export function formatDuration(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function ratioOf(s: ProgressSnapshot): number | undefined {
  if (s.fraction !== undefined) return Math.min(1, Math.max(0, s.fraction));
  if (s.total !== undefined && s.total > 0) return Math.min(1, s.done / s.total);
  if (s.total === 0) return 1;
  return undefined;
}

function countText(s: ProgressSnapshot): string {
  return s.total === undefined
    ? `${compactNumber(s.done)} ${s.unit}`
    : `${compactNumber(s.done)}/${compactNumber(s.total)} ${s.unit}`;
}

function tail(s: ProgressSnapshot): string[] {
  const parts = [s.rate === undefined ? `-- ${s.unit}/s` : `${compactNumber(s.rate)} ${s.unit}/s`];
  if (s.etaSec !== undefined) parts.push(`ETA ${formatDuration(s.etaSec)}`);
  else parts.push(`${formatDuration(s.elapsedSec)} elapsed`);
  return parts;
}

/** The terminal line: `label [#####-----]  42%  420/1000 files  35 files/s  ETA 17s  detail`. */
export function formatBar(s: ProgressSnapshot, columns = 100): string {
  const ratio = ratioOf(s);
  const parts = [s.label];
  if (ratio !== undefined) {
    const filled = Math.round(ratio * BAR_WIDTH);
    parts.push(`[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`, `${Math.floor(ratio * 100)}%`.padStart(4));
  }
  parts.push(countText(s), ...tail(s));
  if (s.detail) parts.push(s.detail);
  const line = parts.join('  ');
  // A pseudo-terminal without a size reports 0 columns: no width is better than a 10-character line.
  return columns >= 20 && line.length > columns ? `${line.slice(0, columns - 1)}…` : line;
}

/** The non-terminal line: `label: 42% 420/1000 files, 35 files/s, ETA 17s (detail)`. */
export function formatPlain(s: ProgressSnapshot): string {
  const ratio = ratioOf(s);
  const pct = ratio === undefined ? '' : `${Math.floor(ratio * 100)}% `;
  return `${s.label}: ${pct}${countText(s)}, ${tail(s).join(', ')}${s.detail ? ` (${s.detail})` : ''}`;
}

interface Sample {
  at: number;
  done: number;
  ratio?: number;
}

export class Progress {
  private readonly write: (text: string) => void;
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly samples: Sample[] = [];
  private done = 0;
  private total: number | undefined;
  private fraction: number | undefined;
  private detail: string | undefined;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private drawn = false;
  /** The count the last plain line showed: the final line is not repeated when nothing moved since. */
  private drawnDone = -1;
  private updated = false;
  private finished = false;

  constructor(private readonly opts: ProgressOptions) {
    this.write = opts.write ?? ((t) => process.stderr.write(t));
    this.now = opts.now ?? (() => performance.now());
    this.startedAt = this.now();
    this.total = opts.total;
    this.samples.push({ at: this.startedAt, done: 0, ratio: this.ratio() });
  }

  get mode(): ProgressMode {
    return this.opts.mode;
  }

  /** Sets the absolute count (and, optionally, a new total, a better fraction or the current detail). */
  update(done: number, extra: { total?: number; fraction?: number; detail?: string } = {}): void {
    this.done = done;
    this.updated = true;
    if (extra.total !== undefined) this.total = extra.total;
    if (extra.fraction !== undefined) this.fraction = extra.fraction;
    if (extra.detail !== undefined) this.detail = extra.detail;
    const at = this.now();
    this.samples.push({ at, done, ratio: this.ratio() });
    const window = this.opts.rateWindowMs ?? 10_000;
    // Keep one sample older than the window, so the rate always spans at least the window once it is that old.
    while (this.samples.length > 2 && at - this.samples[1]!.at > window) this.samples.shift();
    this.draw(false);
  }

  add(n = 1, extra: { detail?: string } = {}): void {
    this.update(this.done + n, extra);
  }

  snapshot(): ProgressSnapshot {
    const at = this.now();
    const first = this.samples[0]!;
    const last = this.samples[this.samples.length - 1]!;
    const spanSec = (last.at - first.at) / 1000;
    const rate = spanSec > 0 ? (last.done - first.done) / spanSec : undefined;
    let etaSec: number | undefined;
    const ratio = this.ratio();
    if (ratio !== undefined && ratio >= 1) etaSec = 0;
    else if (ratio !== undefined && last.ratio !== undefined && spanSec > 0) {
      // A fraction that appeared after the start counts from 0 at the oldest sample.
      const ratioRate = (last.ratio - (first.ratio ?? 0)) / spanSec;
      if (ratioRate > 0) etaSec = (1 - ratio) / ratioRate;
    }
    return {
      label: this.opts.label,
      done: this.done,
      total: this.total,
      fraction: this.fraction,
      unit: this.opts.unit ?? 'items',
      rate,
      etaSec,
      elapsedSec: (at - this.startedAt) / 1000,
      detail: this.detail,
    };
  }

  /**
   * Before other output on the same terminal (a result line on stdout): erases the bar, which the next update
   * redraws below that output.
   */
  clear(): void {
    if (this.opts.mode === 'tty' && this.drawn && !this.finished) {
      this.write('\r\x1b[K');
      this.lastDraw = Number.NEGATIVE_INFINITY;
    }
  }

  /** Draws the final state (terminal: ends the line) and stops drawing; nothing when there was never an update. */
  finish(summary?: string): void {
    if (this.finished) return;
    if (this.updated) this.draw(true);
    this.finished = true;
    if (this.opts.mode === 'tty' && this.drawn) this.write('\n');
    if (summary && this.opts.mode !== 'silent') this.write(`${summary}\n`);
  }

  private ratio(): number | undefined {
    if (this.fraction !== undefined) return this.fraction;
    return this.total !== undefined && this.total > 0 ? Math.min(1, this.done / this.total) : undefined;
  }

  private draw(force: boolean): void {
    if (this.finished || this.opts.mode === 'silent') return;
    // A total of zero is "nothing to do": the command's own output says so.
    if (this.total === 0) return;
    if (force && this.opts.mode === 'plain' && this.done === this.drawnDone) return;
    const at = this.now();
    const interval = this.opts.mode === 'tty' ? (this.opts.ttyIntervalMs ?? 100) : (this.opts.plainIntervalMs ?? 5000);
    if (!force && at - this.lastDraw < interval) return;
    this.lastDraw = at;
    this.drawn = true;
    this.drawnDone = this.done;
    const s = this.snapshot();
    if (this.opts.mode === 'tty') this.write(`\r${formatBar(s, this.opts.columns)}\x1b[K`);
    else this.write(`${formatPlain(s)}\n`);
  }
}

/**
 * The mode for a command: silent under --json or --quiet (the command's or the root's), a redrawn line when stderr
 * is a terminal and CI is unset, plain lines otherwise.
 */
export function progressMode(
  flags: { json?: boolean; quiet?: boolean },
  stream: { isTTY?: boolean } = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): ProgressMode {
  if (flags.json || flags.quiet) return 'silent';
  return stream.isTTY && !env.CI ? 'tty' : 'plain';
}

/** A Progress for a command's long work, its mode from the command's flags and stderr. */
export function commandProgress(cmd: Command, opts: Omit<ProgressOptions, 'mode'> & { mode?: ProgressMode }): Progress {
  const flags = cmd.optsWithGlobals<{ json?: boolean; quiet?: boolean }>();
  return new Progress({
    columns: process.stderr.columns || undefined,
    ...opts,
    mode: opts.mode ?? progressMode(flags),
  });
}
