/**
 * The trading calendar of the synthetic market: regular sessions 09:30–16:00 exchange-local time, Monday to
 * Friday (no holidays). Local time is America/New_York by default, DST-aware through Intl, or a fixed UTC offset
 * when one is configured. All times are µs since the epoch, UTC.
 */

const MS_PER_DAY = 86_400_000;
export const SESSION_OPEN_MINUTE = 9 * 60 + 30;
export const SESSION_CLOSE_MINUTE = 16 * 60;

let nyFormat: Intl.DateTimeFormat | undefined;

/** UTC offset of America/New_York in minutes at the given instant (-240 in summer, -300 in winter). */
export function newYorkOffsetMinutes(utcMs: number): number {
  nyFormat ??= new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', timeZoneName: 'longOffset' });
  const name = nyFormat.formatToParts(utcMs).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT-05:00';
  const m = /GMT([+-])(\d{2}):?(\d{2})?/.exec(name);
  if (!m) return 0; // "GMT" alone means offset zero
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? '0'));
}

export class SessionCalendar {
  constructor(private readonly fixedOffsetMinutes?: number) {}

  offsetMinutes(utcMs: number): number {
    return this.fixedOffsetMinutes ?? newYorkOffsetMinutes(utcMs);
  }

  /** Local calendar day number (days since 1970-01-01 local) containing the instant. */
  localDay(tUs: number): number {
    const ms = tUs / 1000;
    return Math.floor((ms + this.offsetMinutes(ms) * 60_000) / MS_PER_DAY);
  }

  /** UTC µs of local `minute` on local day `day`; the offset is taken at that moment (so DST days are right). */
  localTimeUs(day: number, minute: number): number {
    const naive = day * MS_PER_DAY + minute * 60_000;
    const offset = this.offsetMinutes(naive - this.offsetMinutes(naive) * 60_000);
    return (naive - offset * 60_000) * 1000;
  }

  /** 0 = Sunday … 6 = Saturday. */
  static weekday(day: number): number {
    return (((day + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
  }

  /** The session containing `tUs`, or the next one after it. */
  sessionAtOrAfter(tUs: number): { openUs: number; closeUs: number } {
    let day = this.localDay(tUs);
    for (;;) {
      const wd = SessionCalendar.weekday(day);
      if (wd !== 0 && wd !== 6) {
        const openUs = this.localTimeUs(day, SESSION_OPEN_MINUTE);
        const closeUs = this.localTimeUs(day, SESSION_CLOSE_MINUTE);
        if (tUs < closeUs) return { openUs, closeUs };
      }
      day++;
    }
  }

  /** Today's (by `nowMs`) 09:30 local session open, in UTC µs — whether or not today is a trading day. */
  todaysOpenUs(nowMs: number): number {
    return this.localTimeUs(this.localDay(nowMs * 1000), SESSION_OPEN_MINUTE);
  }
}

/**
 * Relative tick intensity at fraction `x` (0 = open, 1 = close) of the session: a parabola, twice the day's mean
 * rate at the open and the close and half of it at midday (mean over the session = 1).
 */
export function uShape(x: number): number {
  const d = 2 * x - 1;
  return (0.6 + 1.8 * d * d) / 1.2;
}
