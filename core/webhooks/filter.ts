import type { Alert } from '../schemas/alert.ts';

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface AlertFilter {
  rules?: readonly string[];
  symbols?: readonly string[];
  minSeverity: Severity;
}

/** Whether an endpoint wants this alert: its rule and symbol listed (or no list), severity at or above the floor. */
export function matchesFilter(f: AlertFilter, alert: Pick<Alert, 'rule' | 'symbol' | 'severity'>): boolean {
  if (f.rules && !f.rules.includes(alert.rule)) return false;
  if (f.symbols && !f.symbols.includes(alert.symbol)) return false;
  return SEVERITIES.indexOf(alert.severity) >= SEVERITIES.indexOf(f.minSeverity);
}
