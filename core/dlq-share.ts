/**
 * Watches what share of the input is dead-lettered, so a run that rejects most of what it reads says so instead
 * of looking healthy. Counts accumulate into a window that closes once it holds `minRecords` records and has
 * lasted `minWindowMs`; a closed window whose share exceeds `warnShare` is reported. Pure: time is a parameter.
 */
export interface DlqShareOptions {
  warnShare: number;
  minRecords?: number;
  minWindowMs?: number;
}

export interface DlqShareWindow {
  records: number;
  rejected: number;
  share: number;
  /** Reasons by count, most frequent first. */
  reasons: Array<[string, number]>;
  /** Whether the share is above the warning level. */
  warn: boolean;
}

export class DlqShareMonitor {
  private records = 0;
  private rejected = 0;
  private reasons = new Map<string, number>();
  private openedAt: number | null = null;
  private readonly minRecords: number;
  private readonly minWindowMs: number;

  constructor(private readonly options: DlqShareOptions) {
    this.minRecords = options.minRecords ?? 1_000;
    this.minWindowMs = options.minWindowMs ?? 10_000;
  }

  /** Adds a batch's counts; returns the window when this batch closed it. */
  add(records: number, rejectedReasons: Iterable<string>, nowMs: number): DlqShareWindow | undefined {
    this.openedAt ??= nowMs;
    this.records += records;
    for (const r of rejectedReasons) {
      this.rejected++;
      this.reasons.set(r, (this.reasons.get(r) ?? 0) + 1);
    }
    if (this.records < this.minRecords || nowMs - this.openedAt < this.minWindowMs) return undefined;
    const share = this.rejected / this.records;
    const window: DlqShareWindow = {
      records: this.records,
      rejected: this.rejected,
      share,
      reasons: [...this.reasons.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)),
      warn: share > this.options.warnShare,
    };
    this.records = this.rejected = 0;
    this.reasons = new Map();
    this.openedAt = null;
    return window;
  }
}
