import { describe, expect, it } from 'vitest';
import { closedBeforeUs, closedHours } from '../../../activities/reconcile.ts';
import { buildProgram } from '../../../cli/program.ts';
import { DISAGREEMENT_EXIT_CODE, parseWhen } from '../../../cli/reconcile-command.ts';
import { loadConfig } from '../../../infra/config.ts';

const config = loadConfig({ env: {} });

describe('ticklake reconcile', () => {
  it('takes a day or an ISO time in whole minutes', () => {
    expect(parseWhen('--from', '2026-11-20')).toBe(Date.parse('2026-11-20T00:00:00Z') * 1000);
    expect(parseWhen('--to', '2026-11-20T14:30Z')).toBe(Date.parse('2026-11-20T14:30:00Z') * 1000);
    expect(() => parseWhen('--to', '2026-11-20T14:30:15Z')).toThrow(/whole minutes/);
    expect(() => parseWhen('--from', 'yesterday')).toThrow(/not a time/);
  });

  it('says in its help which exit status means a disagreement', () => {
    const cmd = buildProgram().commands.find((c) => c.name() === 'reconcile')!;
    let help = '';
    cmd.configureOutput({ writeOut: (s) => (help += s) });
    cmd.outputHelp();
    expect(help).toContain(`${DISAGREEMENT_EXIT_CODE} when they are above it`);
    expect(help).toContain('reconciliation.tolerance');
  });

  it('reconciles only windows past the lateness, the sink flush and the settle time', () => {
    const now = Date.parse('2026-11-20T15:02:00Z') * 1000;
    // 60 s lateness + 2 s out-of-orderness + 10 s flush + 2 s slack + 60 s settle.
    expect(closedBeforeUs(config, now)).toBe(now - 134_000_000);
    expect(closedHours(config, now, 2)).toEqual({
      fromUs: Date.parse('2026-11-20T12:00:00Z') * 1000,
      toUs: Date.parse('2026-11-20T14:00:00Z') * 1000,
    });
    expect(closedHours(config, now + 60_000_000, 1).toUs).toBe(Date.parse('2026-11-20T15:00:00Z') * 1000);
  });
});
