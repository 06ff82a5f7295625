import type { Command } from 'commander';

/**
 * What every command prints, one way: `--json` puts one JSON document on stdout (an object or an array, the shapes
 * docs/CLI.md lists; fields are only ever added), text otherwise. Progress and notes go to stderr, so
 * `ticklake … --json | jq` always parses.
 */
export interface OutputFlags {
  json?: boolean;
  quiet?: boolean;
}

export function outputFlags(cmd: Command): OutputFlags {
  return cmd.optsWithGlobals<OutputFlags>();
}

export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Adds `--json` to a command that prints data. */
export function withJson(cmd: Command, what = 'print the result as JSON on stdout'): Command {
  return cmd.option('--json', what);
}

/** The JSON of `value` under --json, else `text(value)`; a trailing newline is added when the text lacks one. */
export function emit<T>(cmd: Command, value: T, text: (v: T) => string): void {
  if (outputFlags(cmd).json) {
    process.stdout.write(jsonText(value));
    return;
  }
  const out = text(value);
  if (out) process.stdout.write(out.endsWith('\n') ? out : `${out}\n`);
}

export type Example = string | readonly [command: string, why: string];

/** The `Examples:` block `--help` ends with: one line per example, `# why` aligned. */
export function exampleText(lines: readonly Example[]): string {
  const rows = lines.map((l) => (typeof l === 'string' ? [l, ''] : l));
  const width = Math.max(...rows.map(([c, why]) => (why ? c.length : 0)));
  return `\nExamples:\n${rows.map(([c, why]) => `  ${why ? `${c.padEnd(width)}  # ${why}` : c}`).join('\n')}`;
}

/** Adds the `Examples:` block to a command's `--help` (`.addHelpText('after', exampleText(...))` inside a chain). */
export function examples(cmd: Command, lines: readonly Example[]): Command {
  return cmd.addHelpText('after', exampleText(lines));
}

/** Aligned columns under a header, each line indented; a screen-friendly table without a row count. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[], indent = '  '): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    indent +
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** "12s ago", "3m05s ago", "-" for a missing time. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const sec = (now - Date.parse(iso)) / 1000;
  if (!Number.isFinite(sec)) return '-';
  return sec < 0 ? `in ${formatSeconds(-sec)}` : `${formatSeconds(sec)} ago`;
}

function formatSeconds(sec: number): string {
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}
