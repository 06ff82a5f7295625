import { describe, expect, it } from 'vitest';
import {
  compactNumber,
  formatBar,
  formatDuration,
  formatPlain,
  Progress,
  progressMode,
} from '../../../cli/progress.ts';

/** A Progress on a hand-moved clock, writing into an array. */
function harness(mode: 'tty' | 'plain' | 'silent', total?: number) {
  let t = 0;
  const out: string[] = [];
  const p = new Progress({
    label: 'load',
    unit: 'days',
    total,
    mode,
    now: () => t,
    write: (s) => out.push(s),
    ttyIntervalMs: 100,
    plainIntervalMs: 5000,
    rateWindowMs: 10_000,
    columns: 200,
  });
  return { p, out, advance: (ms: number) => (t += ms) };
}

describe('progress rendering', () => {
  it('shows bar, percent, count/total, rate and ETA on a terminal line', () => {
    const line = formatBar({
      label: 'compact raw',
      done: 25,
      total: 100,
      unit: 'partitions',
      rate: 5,
      etaSec: 15,
      elapsedSec: 5,
    });
    expect(line).toBe('compact raw  [######------------------]   25%  25/100 partitions  5 partitions/s  ETA 15s');
  });

  it('without a total: count, rate and elapsed time, no bar', () => {
    const line = formatPlain({
      label: 'ingest synthetic',
      done: 123_456,
      unit: 'ticks',
      rate: 20_500,
      elapsedSec: 6,
      detail: 'x',
    });
    expect(line).toBe('ingest synthetic: 123.5k ticks, 20.5k ticks/s, 6s elapsed (x)');
  });

  it('formats numbers and durations compactly', () => {
    expect([compactNumber(999), compactNumber(12_345), compactNumber(2_500_000), compactNumber(3.25)]).toEqual([
      '999',
      '12.3k',
      '2.50M',
      '3.3',
    ]);
    expect([formatDuration(42), formatDuration(185), formatDuration(7440)]).toEqual(['42s', '3m05s', '2h04m']);
  });

  it('truncates to the terminal width', () => {
    const line = formatBar({ label: 'x'.repeat(80), done: 1, total: 2, unit: 'u', elapsedSec: 1 }, 40);
    expect(line.length).toBe(40);
    expect(line.endsWith('…')).toBe(true);
    // A terminal that reports no width (a pseudo-terminal without a size says 0) gets the whole line.
    expect(formatBar({ label: 'x'.repeat(80), done: 1, total: 2, unit: 'u', elapsedSec: 1 }, 0)).toContain('1/2 u');
  });
});

describe('Progress: rate and ETA', () => {
  it('measures the rate over the recent window and derives the ETA from it', () => {
    const { p, advance } = harness('silent', 100);
    for (let i = 1; i <= 10; i++) {
      advance(1000);
      p.update(i * 2); // 2 days/s
    }
    const s = p.snapshot();
    expect(s.rate).toBeCloseTo(2, 5);
    expect(s.etaSec).toBeCloseTo(40, 5); // 80 left at 2/s
    expect(s.elapsedSec).toBe(10);
  });

  it('forgets samples older than the window, so a slowdown shows', () => {
    const { p, advance } = harness('silent', 1000);
    for (let i = 1; i <= 10; i++) {
      advance(1000);
      p.update(i * 10); // 10/s for 10 s
    }
    for (let i = 1; i <= 20; i++) {
      advance(1000);
      p.update(100 + i); // then 1/s for 20 s
    }
    expect(p.snapshot().rate).toBeCloseTo(1, 1);
  });

  it('takes the ETA from a fraction when the count has no total (replay: rows counted, bytes read)', () => {
    const { p, advance } = harness('silent');
    advance(4000);
    p.update(40_000, { fraction: 0.25 });
    const s = p.snapshot();
    expect(s.rate).toBe(10_000);
    expect(s.etaSec).toBeCloseTo(12, 5); // a quarter in 4 s: three quarters in 12 s
  });

  it('has no rate or ETA before anything moved, and an ETA of 0 when done', () => {
    const { p, advance } = harness('silent', 10);
    expect(p.snapshot().rate).toBeUndefined();
    expect(p.snapshot().etaSec).toBeUndefined();
    advance(500);
    p.update(10);
    expect(p.snapshot().etaSec).toBe(0);
  });
});

describe('Progress: output modes', () => {
  it('terminal: redraws one line in place at most every interval, ends it on finish', () => {
    const { p, out, advance } = harness('tty', 10);
    advance(10);
    p.update(1);
    advance(10);
    p.update(2); // within 100 ms of the last draw: not drawn
    advance(200);
    p.update(3);
    p.finish();
    expect(out.filter((s) => s.startsWith('\r'))).toHaveLength(3); // two updates + the final state
    expect(out.at(-2)).toMatch(/^\rload {2}\[#+-+\] +30% {2}3\/10 days {2}[\d.]+ days\/s {2}ETA \d+s/);
    expect(out.at(-2)).toContain('\x1b[K');
    expect(out.at(-1)).toBe('\n');
  });

  it('plain (CI, pipes): whole lines, one per interval, no carriage returns', () => {
    const { p, out, advance } = harness('plain', 100);
    for (let i = 1; i <= 30; i++) {
      advance(1000);
      p.update(i);
    }
    p.finish('loaded 30 days');
    expect(out.join('')).not.toContain('\r');
    // The first update, then every 5 s over 30 s, then the final line and the summary.
    expect(out.length).toBeGreaterThanOrEqual(6);
    expect(out.length).toBeLessThanOrEqual(9);
    expect(out.at(-2)).toBe('load: 30% 30/100 days, 1 days/s, ETA 1m10s\n');
    expect(out.at(-1)).toBe('loaded 30 days\n');
  });

  it('draws nothing for work that never started or has nothing to do (nothing to compact)', () => {
    const { p, out } = harness('plain');
    p.finish();
    const empty = harness('plain', 0);
    empty.advance(100);
    empty.p.update(0);
    empty.p.finish();
    expect([...out, ...empty.out]).toEqual([]);
  });

  it('plain: the final line is not a repeat of the last one when nothing moved', () => {
    const { p, out, advance } = harness('plain', 10);
    advance(100);
    p.update(10);
    p.finish();
    expect(out).toHaveLength(1);
  });

  it('silent writes nothing at all', () => {
    const { p, out, advance } = harness('silent', 5);
    advance(1000);
    p.update(5);
    p.finish('done');
    expect(out).toEqual([]);
  });

  it('clear() erases the terminal line so other output can be printed, and the next update redraws', () => {
    const { p, out, advance } = harness('tty', 4);
    advance(200);
    p.update(1);
    p.clear();
    expect(out.at(-1)).toBe('\r\x1b[K');
    advance(1);
    p.update(2); // drawn at once after a clear
    expect(out.at(-1)).toMatch(/^\rload .* 2\/4 days/);
  });

  it('picks the mode: silent for --json or --quiet, terminal only on a TTY outside CI', () => {
    expect(progressMode({ json: true }, { isTTY: true }, {})).toBe('silent');
    expect(progressMode({ quiet: true }, { isTTY: true }, {})).toBe('silent');
    expect(progressMode({}, { isTTY: true }, {})).toBe('tty');
    expect(progressMode({}, { isTTY: true }, { CI: 'true' })).toBe('plain');
    expect(progressMode({}, { isTTY: false }, {})).toBe('plain');
  });
});
