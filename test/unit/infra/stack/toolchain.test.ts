import { describe, expect, it } from 'vitest';
import { isTickLakeError } from '../../../../core/errors.ts';
import { goVersionOk, requireCommand } from '../../../../infra/stack/toolchain.ts';

describe('toolchain prerequisites', () => {
  it('names the missing tool and how to install it', () => {
    let caught: unknown;
    try {
      requireCommand('mvn-that-does-not-exist', ['-v']);
    } catch (err) {
      caught = err;
    }
    expect(isTickLakeError(caught, 'PREREQUISITE_MISSING')).toBe(true);
    expect((caught as Error).message).toMatch(/`mvn-that-does-not-exist` is not available/);
    expect(() => requireCommand('go-missing-xyz')).toThrow(/not available/);
  });

  it('returns the version line of a present tool', () => {
    expect(requireCommand('node', ['--version'])).toMatch(/^v\d+\./);
  });

  it('accepts Go 1.25 and newer only', () => {
    expect(goVersionOk('go version go1.26.8 linux/amd64')).toBe(true);
    expect(goVersionOk('go version go1.25.0 linux/amd64')).toBe(true);
    expect(goVersionOk('go version go1.24.9 linux/amd64')).toBe(false);
    expect(goVersionOk('go version go2.0 linux/amd64')).toBe(true);
    expect(goVersionOk('no go here')).toBe(false);
  });
});
