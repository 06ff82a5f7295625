import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../../cli/program.ts';
import { sourceOptions } from '../../../cli/ingest-command.ts';
import { isTickLakeError } from '../../../core/errors.ts';

describe('ingest source options', () => {
  it('takes replay files from --file and positional paths, after --options files', () => {
    const opts = sourceOptions(
      'replay',
      { options: '{"files":["a.csv"],"speed":2}', set: ['kind=quotes'], file: ['b.csv'] },
      ['c.ndjson'],
    );
    expect(opts).toEqual({ files: ['a.csv', 'b.csv', 'c.ndjson'], speed: 2, kind: 'quotes' });
  });

  it('refuses files for a source that reads none', () => {
    let err: unknown;
    try {
      sourceOptions('synthetic', { set: [], file: ['x.csv'] });
    } catch (e) {
      err = e;
    }
    expect(isTickLakeError(err, 'CONFIG_INVALID')).toBe(true);
  });

  it('names --options when it is not JSON', () => {
    expect(() => sourceOptions('replay', { options: '{files:', set: [] })).toThrow(/--options is not JSON/);
  });

  it('declares the file arguments on the ingest command', () => {
    const ingest = buildProgram().commands.find((c) => c.name() === 'ingest')!;
    expect(ingest.registeredArguments.map((a) => a.name())).toEqual(['files']);
    expect(ingest.options.map((o) => o.long)).toContain('--file');
  });
});
