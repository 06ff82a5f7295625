import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { ResolvedRule } from '../../core/alerts/rules.ts';
import type { Logger } from '../logger.ts';
import { parseRulesText } from './rules-file.ts';

/**
 * Re-reads the alert rules file when it changes and hands valid rules to `apply` (e.g. AlertEngine.setRules,
 * which keeps per-symbol state). A file that does not parse or validate, or that `apply` refuses, is logged with
 * the reason and the rules in force stay. The directory is watched, not the file: editors and `kubectl` config
 * maps replace a file by renaming a new one over it, which a watch on the old inode would miss.
 */
export interface RulesWatcherOptions {
  file: string;
  apply: (rules: ResolvedRule[]) => void;
  log: Pick<Logger, 'info' | 'warn'>;
  /** Changes closer together than this are read once (an editor's save is several events). */
  debounceMs?: number;
  /** After each reload attempt (tests wait on it). */
  onReload?: (outcome: RulesReload) => void;
}

export type RulesReload = { ok: true; rules: number } | { ok: false; error: string } | { ok: 'unchanged' };

export interface RulesWatcher {
  /** Reads the file now (what a change event triggers). */
  reload(): Promise<RulesReload>;
  close(): void;
}

export function watchRulesFile(opts: RulesWatcherOptions, initialText?: string): RulesWatcher {
  const name = basename(opts.file);
  let last = initialText;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<RulesReload> | undefined;
  let again = false;

  async function attempt(): Promise<RulesReload> {
    let text: string;
    try {
      text = await readFile(opts.file, 'utf8');
    } catch (err) {
      return refuse(`cannot read it: ${(err as Error).message}`);
    }
    if (text === last) return { ok: 'unchanged' };
    let rules: ResolvedRule[];
    try {
      rules = parseRulesText(text, opts.file);
      opts.apply(rules);
    } catch (err) {
      // Remembered, so the same bad file is reported once, not at every event.
      last = text;
      return refuse((err as Error).message);
    }
    last = text;
    opts.log.info('alert rules reloaded', { file: opts.file, rules: rules.length });
    return { ok: true, rules: rules.length };
  }

  function refuse(error: string): RulesReload {
    opts.log.warn('alert rules file refused; the previous rules stay in force', { file: opts.file, error });
    return { ok: false, error };
  }

  async function reload(): Promise<RulesReload> {
    if (running) {
      again = true;
      return running;
    }
    running = attempt();
    try {
      const outcome = await running;
      opts.onReload?.(outcome);
      return outcome;
    } finally {
      running = undefined;
      if (again) {
        again = false;
        void reload();
      }
    }
  }

  const watcher: FSWatcher = watch(dirname(opts.file), (_event, changed) => {
    if (changed !== null && changed !== name) return;
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), opts.debounceMs ?? 100);
  });
  watcher.on('error', (err) => opts.log.warn('alert rules watch failed', { file: opts.file, error: err.message }));

  return {
    reload,
    close(): void {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
