import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTickLakeError } from '../../../../../core/errors.ts';
import { loadShippedReference } from '../../../../../infra/reference-file.ts';
import { referenceSymbolSchema } from '../../../../../core/schemas/reference.ts';
import { createSyntheticSource } from '../../../../../streaming/sources/synthetic/source.ts';
import { syntheticUniverse } from '../../../../../streaming/sources/synthetic/universe.ts';

describe('syntheticUniverse', () => {
  const shipped = loadShippedReference();

  it('takes the symbol master first, then generated SYN symbols', () => {
    expect(syntheticUniverse(5, 1)).toEqual(shipped.slice(0, 5));
    const u = syntheticUniverse(shipped.length + 3, 1);
    expect(u.slice(0, shipped.length)).toEqual(shipped);
    expect(u.slice(shipped.length).map((r) => r.symbol)).toEqual(['SYN0001', 'SYN0002', 'SYN0003']);
    for (const r of u) expect(referenceSymbolSchema.parse(r)).toEqual(r);
  });

  it('is deterministic by seed and independent of how many reference rows precede', () => {
    expect(syntheticUniverse(200, 9)).toEqual(syntheticUniverse(200, 9));
    const a = syntheticUniverse(20, 9, []).map((r) => r.beta);
    const b = syntheticUniverse(20, 10, []).map((r) => r.beta);
    expect(a).not.toEqual(b);
    const withRef = syntheticUniverse(shipped.length + 7, 9);
    expect(withRef.at(-1)).toEqual(syntheticUniverse(7, 9, []).at(-1));
  });

  it('scales to 5,000 distinct symbols with sane betas', () => {
    const u = syntheticUniverse(5000, 3);
    expect(new Set(u.map((r) => r.symbol)).size).toBe(5000);
    expect(u.at(-1)?.symbol).toBe(`SYN${String(5000 - shipped.length).padStart(4, '0')}`);
    const generated = u.slice(shipped.length).map((r) => r.beta);
    expect(Math.min(...generated)).toBeGreaterThanOrEqual(0.2);
    expect(Math.max(...generated)).toBeLessThanOrEqual(2.5);
  });

  it('rejects a non-positive size', () => {
    expect(() => syntheticUniverse(0, 1)).toThrow(RangeError);
  });

  it('reads a custom symbol master, or none, through the source options', () => {
    const dir = mkdtempSync(join(tmpdir(), 'universe-'));
    const file = join(dir, 'symbols.csv');
    writeFileSync(
      file,
      'symbol,name,sector,exchange,currency,beta\nZZZ,Zed Corp,Energy,NYSE,USD,1.5\nYYY,Why Inc,Utilities,NYSE,USD,\n',
    );
    const src = createSyntheticSource({ referenceFile: file, symbols: 4, start: 'now' });
    expect(src.universe.map((u) => [u.symbol, u.beta])).toEqual([
      ['ZZZ', 1.5],
      ['YYY', 1],
      ['SYN0001', syntheticUniverse(1, 1, [])[0]?.beta],
      ['SYN0002', syntheticUniverse(2, 1, [])[1]?.beta],
    ]);
    expect(createSyntheticSource({ referenceFile: null, symbols: 2, start: 'now' }).universe[0]?.symbol).toBe(
      'SYN0001',
    );
    writeFileSync(file, 'symbol,name,sector,exchange,currency,beta\nlower,Bad,Energy,NYSE,USD,1\n');
    let err: unknown;
    try {
      createSyntheticSource({ referenceFile: file, start: 'now' });
    } catch (e) {
      err = e;
    }
    expect(isTickLakeError(err, 'CONFIG_INVALID')).toBe(true);
  });
});
