import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { alertRulesFileSchema, resolveRules, type ResolvedRule } from '../../core/alerts/rules.ts';
import type { Config } from '../../core/config.ts';
import { TickLakeError } from '../../core/errors.ts';

/**
 * The alert rules file: YAML read and located here (the edge), validated by the core's schema. Every error names
 * the file, the line and column, and the key (`rules[2] (price-move).movePct`), so a bad edit is found at once.
 */
export const SHIPPED_RULES_URL = new URL('./rules.yaml', import.meta.url);

/** `alerts.rulesFile`, or the shipped file when it is unset. */
export function rulesFilePath(config: Config): string {
  return config.alerts.rulesFile ?? fileURLToPath(SHIPPED_RULES_URL);
}

export interface LoadedRules {
  file: string;
  rules: ResolvedRule[];
}

export interface RulesProblem {
  line: number;
  column: number;
  key: string;
  message: string;
}

/** Parses and validates a rules file's text; `file` is only for messages. Throws CONFIG_INVALID listing every problem. */
export function parseRulesText(text: string, file: string): ResolvedRule[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const problems: RulesProblem[] = doc.errors.map((e) => {
    const pos = lines.linePos(e.pos[0]);
    return { line: pos.line, column: pos.col, key: '<yaml>', message: e.message.split('\n')[0] ?? e.message };
  });
  if (problems.length === 0) {
    const result = alertRulesFileSchema.safeParse(doc.toJS());
    if (result.success) return resolveRules(result.data);
    for (const issue of result.error.issues) problems.push(...locate(doc.contents, issue, lines));
  }
  throw rulesError(file, problems);
}

export function loadRulesFile(file: string): LoadedRules {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TickLakeError('CONFIG_INVALID', `cannot read alert rules file ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return { file, rules: parseRulesText(text, file) };
}

function rulesError(file: string, problems: RulesProblem[]): TickLakeError {
  const list = problems.map((p) => `  ${file}:${p.line}:${p.column} ${p.key}: ${p.message}`).join('\n');
  return new TickLakeError('CONFIG_INVALID', `invalid alert rules file ${file}:\n${list}`, {
    details: { file, problems },
  });
}

type Path = readonly PropertyKey[];

/** One zod issue → its position: the key's own line where the key exists, else the nearest enclosing node's. */
function locate(root: unknown, issue: z.core.$ZodIssue, lines: LineCounter): RulesProblem[] {
  const keys = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
  return keys.map((path) => {
    const { offset, found } = position(root, path);
    const pos = lines.linePos(offset);
    const message =
      issue.code === 'unrecognized_keys'
        ? 'unknown key'
        : found < path.length
          ? `missing: ${issue.message}`
          : issue.message;
    return { line: pos.line, column: pos.col, key: describe(root, path), message };
  });
}

function position(root: unknown, path: Path): { offset: number; found: number } {
  let node = root as YamlNode | null | undefined;
  let offset = node?.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    const k = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === k);
      if (pair === undefined) return { offset, found: i };
      offset = (pair.key as YamlNode).range?.[0] ?? offset;
      node = pair.value as YamlNode | null;
    } else if (isSeq(node) && typeof k === 'number' && node.items[k] !== undefined) {
      node = node.items[k] as YamlNode;
      offset = node.range?.[0] ?? offset;
    } else {
      return { offset, found: i };
    }
  }
  return { offset, found: path.length };
}

/** `rules[2] (price-move).movePct`: the path as people read it, with the rule's id when it has one. */
function describe(root: unknown, path: Path): string {
  let out = '';
  let node = root as YamlNode | null | undefined;
  for (const k of path) {
    if (typeof k === 'number') {
      out += `[${k}]`;
      node = isSeq(node) ? (node.items[k] as YamlNode | undefined) : undefined;
      const id = isMap(node) ? node.get('id') : undefined;
      if (typeof id === 'string') out += ` (${id})`;
    } else {
      out += out === '' ? String(k) : `.${String(k)}`;
      node = isMap(node) ? (node.get(k, true) as YamlNode | undefined) : undefined;
    }
  }
  return out || '<root>';
}
