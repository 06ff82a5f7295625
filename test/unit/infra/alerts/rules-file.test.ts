import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertEngine } from '../../../../core/alerts/engine.ts';
import { RULE_KINDS } from '../../../../core/alerts/rules.ts';
import { configSchema } from '../../../../core/config.ts';
import { TickLakeError } from '../../../../core/errors.ts';
import type { EnrichedTick } from '../../../../core/schemas/enriched.ts';
import { loadRulesFile, parseRulesText, rulesFilePath } from '../../../../infra/alerts/rules-file.ts';
import { watchRulesFile, type RulesReload } from '../../../../infra/alerts/rules-watcher.ts';

function problems(text: string): { line: number; key: string; message: string }[] {
  try {
    parseRulesText(text, 'rules.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(TickLakeError);
    const e = err as TickLakeError;
    expect(e.code).toBe('CONFIG_INVALID');
    return (e.details as { problems: { line: number; key: string; message: string }[] }).problems;
  }
  throw new Error('expected the rules to be refused');
}

const GOOD = `version: 1
rules:
  - id: pm
    kind: price_move
    movePct: 2
  - id: vs
    kind: volume_spike
    ratio: 100
    minTrades: 5
    cooldownSec: 0
`;

describe('rules file validation', () => {
  it('the shipped file is valid, has every rule kind, and is what alerts.rulesFile points to by default', () => {
    const config = configSchema.parse({ stack: { cacheDir: '-', stateDir: '-' } });
    const file = rulesFilePath(config);
    expect(file.endsWith(join('infra', 'alerts', 'rules.yaml'))).toBe(true);
    const { rules } = loadRulesFile(file);
    // model_score too: `ticklake alerts` registers the anomaly scorer (streaming/models/live-scorer.ts).
    expect(new Set(rules.map((r) => r.kind))).toEqual(new Set(RULE_KINDS));
  });

  it('the threshold sweep the docs quote is a valid rules file', () => {
    const file = fileURLToPath(new URL('../../../fixtures/alerts/threshold-sweep.yaml', import.meta.url));
    expect(loadRulesFile(file).rules).toHaveLength(14);
  });

  it('an unknown key is named with its own line', () => {
    const text = GOOD.replace('    ratio: 100\n', '    ratio: 100\n    zScore: 4\n');
    expect(problems(text)).toEqual([{ line: 9, column: 5, key: 'rules[1] (vs).zScore', message: 'unknown key' }]);
  });

  it('a wrong value is named with the key and line', () => {
    const p = problems(GOOD.replace('movePct: 2', 'movePct: -2'));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatchObject({ line: 5, key: 'rules[0] (pm).movePct' });
    expect(p[0]!.message).toMatch(/>0|positive|too small/i);
  });

  it('a missing key is reported at the rule that lacks it', () => {
    const text = `${GOOD}  - id: ms\n    kind: model_score\n    threshold: 1\n`;
    const p = problems(text);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatchObject({ line: 11, key: 'rules[2] (ms).scorer' });
    expect(p[0]!.message).toMatch(/^missing/);
  });

  it('an unknown kind and a bad id are each located', () => {
    const text = GOOD.replace('kind: volume_spike', 'kind: volume_spikes');
    const p = problems(`${text}  - id: Bad:Id\n    kind: stale_feed\n`);
    expect(p.map((x) => [x.line, x.key])).toEqual([
      [7, 'rules[1] (vs).kind'],
      [11, 'rules[2] (Bad:Id).id'],
    ]);
  });

  it('a duplicate id is reported at the second one', () => {
    const p = problems(GOOD.replace('id: vs', 'id: pm'));
    expect(p).toEqual([
      { line: 6, column: 5, key: 'rules[1] (pm).id', message: 'duplicate rule id (rules[0] has it)' },
    ]);
  });

  it('YAML syntax errors give their line; the message names the file', () => {
    const text = 'version: 1\nrules:\n  - id: pm\n    kind: [price_move\n';
    expect(() => parseRulesText(text, 'alerts/rules.yaml')).toThrow(/alerts\/rules\.yaml:\d+:\d+ <yaml>/);
    expect(problems(text)[0]!.line).toBeGreaterThanOrEqual(4);
  });
});

describe('rules watcher', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const T0 = 1_772_452_800_000_000;
  const trade = (i: number, size: number): EnrichedTick => ({
    v: 1,
    ev: 1,
    id: `s:AAPL:${i}`,
    source: 's',
    symbol: 'AAPL',
    seq: i,
    ts: T0 + i * 1_000_000,
    recvTs: T0 + i * 1_000_000,
    type: 'trade',
    price: 100,
    size,
    name: null,
    sector: null,
    currency: null,
    listingExchange: null,
    mid: 100,
    spreadBps: 4,
    logReturn: null,
    sessionVwap: 100,
    ewmaVol: null,
    processedTs: 0,
  });

  function setup() {
    dir = mkdtempSync(join(tmpdir(), 'ticklake-rules-'));
    const file = join(dir, 'rules.yaml');
    writeFileSync(file, GOOD);
    const { rules } = loadRulesFile(file);
    const engine = new AlertEngine(rules, { now: () => 0 });
    const warns: Record<string, unknown>[] = [];
    const reloads: RulesReload[] = [];
    let waiter: ((r: RulesReload) => void) | undefined;
    const watcher = watchRulesFile(
      {
        file,
        apply: (r) => engine.setRules(r),
        log: { info: () => {}, warn: (_m, f) => warns.push(f ?? {}) },
        debounceMs: 20,
        onReload: (r) => {
          reloads.push(r);
          waiter?.(r);
        },
      },
      GOOD,
    );
    const next = () => new Promise<RulesReload>((resolve) => (waiter = resolve));
    // Editors save by writing a temporary file and renaming it over the old one: the watcher must see that.
    const save = (text: string) => {
      writeFileSync(`${file}.tmp`, text);
      renameSync(`${file}.tmp`, file);
    };
    return { file, engine, watcher, warns, reloads, next, save };
  }

  it('a changed file is applied on its own, and per-symbol state survives the reload', async () => {
    const { engine, watcher, next, save } = setup();
    try {
      for (let i = 0; i < 10; i++) engine.onTick(trade(i, 100));
      const before = engine.snapshot().rules.find((r) => r.id === 'vs');
      const reloaded = next();
      save(GOOD.replace('ratio: 100', 'ratio: 20'));
      expect(await reloaded).toEqual({ ok: true, rules: 2 });
      const vs = engine.activeRules.find((r) => r.id === 'vs');
      expect(vs).toMatchObject({ kind: 'volume_spike', ratio: 20 });
      expect(engine.snapshot().rules.find((r) => r.id === 'vs')).toEqual(before);
      // The warm baseline (typical 100 shares) fires under the new ratio straight away.
      expect(engine.onTick(trade(11, 2_500)).map((a) => a.rule)).toEqual(['vs']);
    } finally {
      watcher.close();
    }
  });

  it('a bad file keeps the old rules and says why (line and key); a later good file is applied', async () => {
    const { engine, watcher, warns, next, save } = setup();
    try {
      const refused = next();
      save(GOOD.replace('movePct: 2', 'movePct: lots'));
      const outcome = await refused;
      expect(outcome.ok).toBe(false);
      expect((outcome as { error: string }).error).toMatch(/rules\.yaml:5:5 rules\[0\] \(pm\)\.movePct/);
      expect(warns).toHaveLength(1);
      expect(warns[0]!.error).toMatch(/movePct/);
      expect(engine.activeRules.find((r) => r.id === 'pm')).toMatchObject({ movePct: 2 });

      const applied = next();
      save(GOOD.replace('movePct: 2', 'movePct: 3'));
      expect(await applied).toEqual({ ok: true, rules: 2 });
      expect(engine.activeRules.find((r) => r.id === 'pm')).toMatchObject({ movePct: 3 });
    } finally {
      watcher.close();
    }
  });

  it('rules the engine refuses (an unregistered scorer) are a bad reload too', async () => {
    const { engine, watcher, next, save } = setup();
    try {
      const refused = next();
      save(`${GOOD}  - id: ms\n    kind: model_score\n    scorer: nobody\n    threshold: 1\n`);
      const outcome = await refused;
      expect(outcome).toMatchObject({ ok: false, error: expect.stringMatching(/scorer "nobody" is not registered/) });
      expect(engine.activeRules.map((r) => r.id)).toEqual(['pm', 'vs']);
    } finally {
      watcher.close();
    }
  });
});
