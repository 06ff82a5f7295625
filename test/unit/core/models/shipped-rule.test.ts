import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../../core/config.ts';
import { ANOMALY_SCORER } from '../../../../core/models/score.ts';
import { loadRulesFile, rulesFilePath } from '../../../../infra/alerts/rules-file.ts';
import { loadConfig } from '../../../../infra/config.ts';

describe('the shipped model rule', () => {
  it('is enabled, names the anomaly scorer, and fires where the batch path flags (models.threshold)', () => {
    const { rules } = loadRulesFile(rulesFilePath(loadConfig({ env: {} })));
    const model = rules.filter((r) => r.kind === 'model_score');
    expect(model).toHaveLength(1);
    const rule = model[0] as Extract<(typeof rules)[number], { kind: 'model_score' }>;
    expect(rule.scorer).toBe(ANOMALY_SCORER);
    expect(rule.threshold).toBe(configSchema.shape.models.parse({}).threshold);
  });
});
