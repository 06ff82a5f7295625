import { describe, expect, it } from 'vitest';
import {
  bindRefusal,
  COOKIE,
  cookieValue,
  presentedToken,
  sessionCookie,
  tokenMatches,
} from '../../../dashboard/auth.ts';

const TOKEN = 'a-long-enough-dashboard-token';

describe('dashboard token', () => {
  it('refuses to bind beyond loopback without a token, and allows it with one', () => {
    for (const host of ['127.0.0.1', 'localhost', '127.0.0.2', '::1'])
      expect(bindRefusal(host, undefined), host).toBeNull();
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'dashboard.example.com']) {
      expect(bindRefusal(host, undefined), host).toMatch(
        /beyond loopback and no token is set: set TICKLAKE_DASHBOARD_TOKEN/,
      );
      expect(bindRefusal(host, TOKEN), host).toBeNull();
    }
  });

  it('matches only the exact token', () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    for (const wrong of [undefined, '', TOKEN.slice(0, -1), `${TOKEN}x`, TOKEN.toUpperCase()]) {
      expect(tokenMatches(wrong, TOKEN), String(wrong)).toBe(false);
    }
  });

  it('reads the bearer header first, then the session cookie', () => {
    expect(presentedToken({ headers: { authorization: `Bearer ${TOKEN}` } })).toBe(TOKEN);
    expect(presentedToken({ headers: { cookie: `other=1; ${COOKIE}=${TOKEN}` } })).toBe(TOKEN);
    expect(presentedToken({ headers: { authorization: 'Basic abc', cookie: `${COOKIE}=x` } })).toBe('x');
    expect(presentedToken({ headers: {} })).toBeUndefined();
    expect(cookieValue(`${COOKIE}=%E0%A4%A`, COOKIE)).toBeUndefined();
  });

  it('sets an HttpOnly, SameSite=Strict cookie, Secure behind https', () => {
    expect(sessionCookie(TOKEN, false)).toBe(`${COOKIE}=${TOKEN}; Path=/; HttpOnly; SameSite=Strict`);
    expect(sessionCookie(TOKEN, true)).toMatch(/; Secure$/);
  });
});
