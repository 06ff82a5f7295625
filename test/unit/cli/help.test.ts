import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../../cli/program.ts';

function walk(cmd: Command, path: string[] = []): { path: string; cmd: Command }[] {
  return cmd.commands.flatMap((c) => [
    { path: [...path, c.name()].join(' '), cmd: c },
    ...walk(c, [...path, c.name()]),
  ]);
}

/** What `--help` prints, text added with addHelpText included. */
function helpOf(cmd: Command): string {
  let out = '';
  cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  cmd.outputHelp();
  return out;
}

describe('ticklake --help', () => {
  const program = buildProgram();
  const commands = walk(program);

  it('finds the command tree', () => {
    expect(commands.map((c) => c.path)).toEqual(expect.arrayContaining(['status', 'lake compact', 'stack status']));
    expect(commands.length).toBeGreaterThan(30);
  });

  it.each(commands.map((c) => [c.path, c.cmd] as const))(
    '%s has a description and examples that run ticklake',
    (path, cmd) => {
      expect(cmd.description(), path).not.toBe('');
      const help = helpOf(cmd);
      const block = help.split(/\nExamples?:\n/)[1];
      expect(block, `${path}: no "Examples:" in --help`).toBeDefined();
      const lines = block!.split('\n').filter((l) => /^ {2}\S/.test(l));
      expect(lines.length, path).toBeGreaterThan(0);
      // Each example is a command line people can paste: it runs ticklake, this command's own path among them.
      expect(
        lines.some((l) => l.includes(`ticklake `)),
        path,
      ).toBe(true);
      const own = path.split(' ');
      expect(
        lines.some((l) => own.every((w) => l.includes(w))),
        `${path}: no example of this command`,
      ).toBe(true);
    },
  );

  it('the root lists examples and the global options reach every subcommand', () => {
    expect(helpOf(program)).toContain('ticklake status');
    expect(helpOf(commands.find((c) => c.path === 'lake ls')!.cmd)).toMatch(/Global Options:[\s\S]*--profile/);
  });

  it('every command that prints data takes --json', () => {
    const printsData = [
      'status',
      'stack up',
      'stack status',
      'config show',
      'config env',
      'topics apply',
      'topics list',
      'ingest',
      'lake ls',
      'lake stats',
      'lake compact',
      'lake vacuum',
      'lake changes',
      'schedules apply',
      'schedules list',
      'warehouse apply',
      'warehouse load',
      'warehouse status',
      'query',
      'backfill',
      'alerts-eval',
    ];
    for (const path of printsData) {
      const c = commands.find((x) => x.path === path);
      expect(c, path).toBeDefined();
      expect(
        c!.cmd.options.some((o) => o.long === '--json'),
        `${path} has no --json`,
      ).toBe(true);
    }
  });
});
