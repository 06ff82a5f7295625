import { describe, expect, it } from 'vitest';
import { DAY_US, parseAlertsQuery, parseBarsQuery, parseRange } from '../../../dashboard/query.ts';

const known = new Set(['AAPL', 'BRK.B', 'MSFT']);
const now = Date.parse('2026-11-20T15:04:05Z') * 1000;
const q = (s: string) => new URLSearchParams(s);
const refused = (r: { ok: boolean; message?: string }) => (r.ok ? 'accepted' : r.message);

describe('dashboard API: /api/bars parameters', () => {
  it('takes a known symbol and defaults to the current UTC day', () => {
    const r = parseBarsQuery(q('symbol=AAPL'), known, now);
    expect(r).toEqual({
      ok: true,
      value: {
        symbol: 'AAPL',
        fromUs: Date.parse('2026-11-20T00:00:00Z') * 1000,
        toUs: Date.parse('2026-11-21T00:00:00Z') * 1000,
      },
    });
  });

  it('takes a day or an ISO range with a zone', () => {
    const d = parseBarsQuery(q('symbol=BRK.B&day=2026-11-19'), known, now);
    expect(d.ok && d.value.fromUs).toBe(Date.parse('2026-11-19T00:00:00Z') * 1000);
    expect(d.ok && d.value.toUs - d.value.fromUs).toBe(DAY_US);
    const r = parseBarsQuery(q('symbol=MSFT&from=2026-11-20T14:30:00Z&to=2026-11-20T15:30:00.5%2B01:00'), known, now);
    expect(r.ok && [r.value.fromUs, r.value.toUs]).toEqual([
      Date.parse('2026-11-20T14:30:00Z') * 1000,
      Date.parse('2026-11-20T14:30:00.5Z') * 1000,
    ]);
  });

  it('refuses unknown and malformed symbols', () => {
    expect(refused(parseBarsQuery(q(''), known, now))).toBe('symbol is required');
    expect(refused(parseBarsQuery(q('symbol=TSLA'), known, now))).toBe('unknown symbol "TSLA"');
    expect(refused(parseBarsQuery(q(`symbol=${'X'.repeat(40)}`), known, now))).toMatch(/^symbol "X+":/);
    expect(refused(parseBarsQuery(q('symbol=%3Cscript%3E'), known, now))).toMatch(/symbol|unknown/);
  });

  it('refuses malformed, reversed, one-sided and over-long ranges', () => {
    const cases: [string, RegExp][] = [
      ['day=2026-02-31', /day must be a date/],
      ['day=20261120', /day must be a date/],
      ['day=2026-11-20&from=2026-11-20T00:00:00Z', /either day or from\/to/],
      ['from=2026-11-20T10:00:00Z', /from and to go together/],
      ['from=2026-11-20T10:00:00&to=2026-11-20T11:00:00Z', /from must be an ISO-8601 time with a zone/],
      ['from=yesterday&to=2026-11-20T11:00:00Z', /from must be an ISO-8601/],
      ['from=2026-11-20T11:00:00Z&to=2026-13-20T12:00:00Z', /to .* is not a valid time/],
      ['from=2026-11-20T11:00:00Z&to=2026-11-20T11:00:00Z', /from must be before to/],
      ['from=2026-11-20T12:00:00Z&to=2026-11-20T11:00:00Z', /from must be before to/],
      ['from=2026-11-18T00:00:00Z&to=2026-11-20T00:00:00Z', /at most 24 hours/],
    ];
    for (const [params, message] of cases) {
      expect(refused(parseBarsQuery(q(`symbol=AAPL&${params}`), known, now)), params).toMatch(message);
    }
  });

  it('refuses parameters it does not know, so a typo is not silently ignored', () => {
    expect(refused(parseBarsQuery(q('symbol=AAPL&dya=2026-11-20'), known, now))).toBe('unknown parameter "dya"');
  });
});

describe('dashboard API: /api/alerts parameters', () => {
  it('takes no symbol, a known one, and a limit in range', () => {
    expect(parseAlertsQuery(q(''), known, now)).toMatchObject({ ok: true, value: { symbol: null, limit: 200 } });
    expect(parseAlertsQuery(q('symbol=AAPL&limit=5'), known, now)).toMatchObject({
      ok: true,
      value: { symbol: 'AAPL', limit: 5 },
    });
  });

  it('refuses an unknown symbol and a bad limit', () => {
    expect(refused(parseAlertsQuery(q('symbol=NOPE'), known, now))).toBe('unknown symbol "NOPE"');
    for (const l of ['0', '501', '-1', '1.5', 'ten', '']) {
      expect(refused(parseAlertsQuery(q(`limit=${l}`), known, now)), l).toMatch(
        /limit must be an integer from 1 to 500/,
      );
    }
  });
});

describe('parseRange', () => {
  it('the default day follows the clock across midnight UTC', () => {
    const late = Date.parse('2026-11-20T23:59:59.999Z') * 1000;
    const r = parseRange(q(''), late);
    expect(r.ok && r.value.fromUs).toBe(Date.parse('2026-11-20T00:00:00Z') * 1000);
    const r2 = parseRange(q(''), late + 1000);
    expect(r2.ok && r2.value.fromUs).toBe(Date.parse('2026-11-21T00:00:00Z') * 1000);
  });
});
