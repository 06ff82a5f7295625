import { describe, expect, it } from 'vitest';
import { SessionCalendar, newYorkOffsetMinutes, uShape } from '../../../../../streaming/sources/synthetic/session.ts';

const us = (iso: string) => Date.parse(iso) * 1000;

describe('session calendar', () => {
  it('knows New York daylight saving time', () => {
    expect(newYorkOffsetMinutes(Date.parse('2024-07-01T12:00:00Z'))).toBe(-240);
    expect(newYorkOffsetMinutes(Date.parse('2024-01-15T12:00:00Z'))).toBe(-300);
  });

  it('finds the session at or after an instant, skipping nights and weekends', () => {
    const cal = new SessionCalendar();
    // Inside Monday's session (EST, before the March switch).
    expect(cal.sessionAtOrAfter(us('2024-03-04T15:00:00Z'))).toEqual({
      openUs: us('2024-03-04T14:30:00Z'),
      closeUs: us('2024-03-04T21:00:00Z'),
    });
    // Friday after the close -> Monday, which is after the DST switch on Sunday 10 March: 09:30 EDT = 13:30Z.
    expect(cal.sessionAtOrAfter(us('2024-03-08T21:00:00Z'))).toEqual({
      openUs: us('2024-03-11T13:30:00Z'),
      closeUs: us('2024-03-11T20:00:00Z'),
    });
    // Saturday -> Monday; before the open -> the same day's open.
    expect(cal.sessionAtOrAfter(us('2024-07-06T15:00:00Z')).openUs).toBe(us('2024-07-08T13:30:00Z'));
    expect(cal.sessionAtOrAfter(us('2024-07-08T05:00:00Z')).openUs).toBe(us('2024-07-08T13:30:00Z'));
  });

  it('uses a fixed offset when given one', () => {
    const cal = new SessionCalendar(-300);
    expect(cal.sessionAtOrAfter(us('2024-07-08T05:00:00Z')).openUs).toBe(us('2024-07-08T14:30:00Z'));
    expect(new SessionCalendar(0).todaysOpenUs(Date.parse('2024-07-08T23:00:00Z'))).toBe(us('2024-07-08T09:30:00Z'));
  });

  it("gives today's 09:30 New York open by New York's date", () => {
    const cal = new SessionCalendar();
    // 02:00Z on 9 July is still 8 July in New York.
    expect(cal.todaysOpenUs(Date.parse('2024-07-09T02:00:00Z'))).toBe(us('2024-07-08T13:30:00Z'));
  });

  it('has a U-shaped intensity with mean 1 over the session', () => {
    let sum = 0;
    const n = 10_000;
    for (let k = 0; k < n; k++) sum += uShape((k + 0.5) / n);
    expect(sum / n).toBeCloseTo(1, 3);
    expect(uShape(0)).toBeCloseTo(2, 10);
    expect(uShape(1)).toBeCloseTo(2, 10);
    expect(uShape(0.5)).toBeCloseTo(0.5, 10);
  });
});
