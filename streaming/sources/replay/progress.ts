/**
 * A one-line progress display on stderr: file k/n, rows, % through the current file, overall rate. Redrawn in place
 * (carriage return) at most every `intervalMs`, so it costs nothing measurable per row.
 */
export interface ProgressState {
  fileIndex: number;
  fileCount: number;
  file: string;
  rows: number;
  /** Units (bytes or rows) done / total in the current file. */
  position: number;
  total: number;
}

export class ProgressLine {
  private lastDraw = Number.NEGATIVE_INFINITY;
  private readonly startedAt: number;
  private drawn = false;

  constructor(
    private readonly write: (text: string) => void,
    private readonly now: () => number = () => performance.now(),
    private readonly intervalMs = 250,
  ) {
    this.startedAt = now();
  }

  static format(s: ProgressState, elapsedMs: number): string {
    const pct = s.total > 0 ? Math.min(100, (100 * s.position) / s.total) : 100;
    const rate = elapsedMs > 0 ? Math.round((s.rows * 1000) / elapsedMs) : 0;
    return (
      `replay ${s.fileIndex + 1}/${s.fileCount} ${s.file}  ${s.rows.toLocaleString('en-US')} rows  ` +
      `${pct.toFixed(1)}%  ${rate.toLocaleString('en-US')} rows/s`
    );
  }

  update(s: ProgressState, force = false): void {
    const now = this.now();
    if (!force && now - this.lastDraw < this.intervalMs) return;
    this.lastDraw = now;
    this.drawn = true;
    this.write(`\r${ProgressLine.format(s, now - this.startedAt)}\x1b[K`);
  }

  finish(s: ProgressState): void {
    this.update(s, true);
    if (this.drawn) this.write('\n');
  }
}
