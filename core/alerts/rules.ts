import { z } from 'zod';
import { ALERT_SEVERITIES } from '../schemas/alert.ts';
import { symbolSchema } from '../schemas/tick.ts';

/**
 * The alert rules file (YAML at the edge, this schema in the core): a version, defaults, and a list of rules,
 * each a `kind` with its own parameters. Defaults here are the shipped file's defaults too, so a rule that only
 * names its kind and id gets the tuned values (docs/ALERTS.md has the numbers they were tuned on).
 */
export const RULE_KINDS = [
  'price_move',
  'volume_spike',
  'spread_blowout',
  'vwap_deviation',
  'stale_feed',
  'model_score',
] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

/** Rule ids are part of alert ids (`rule:symbol:window`), so no ':' and nothing a URL or a metric label minds. */
const ruleIdSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,63}$/,
    'lower-case letters, digits, - and _ (at most 64), starting with a letter or digit',
  );

const positive = z.number().finite().positive();

const base = {
  id: ruleIdSchema,
  enabled: z.boolean().default(true),
  severity: z.enum(ALERT_SEVERITIES).default('warning'),
  /** |value| at or above this makes the alert critical (in the rule's own unit). */
  criticalAt: positive.optional(),
  /** After an alert, the same rule stays quiet for the symbol this long (event time); unset: defaults.cooldownSec. */
  cooldownSec: z.number().finite().nonnegative().optional(),
  /** Only these symbols; unset: every symbol. */
  symbols: z.array(symbolSchema).min(1).optional(),
};

export const priceMoveRuleSchema = z
  .object({
    ...base,
    kind: z.literal('price_move'),
    /** A trade at least this far (%) from the lowest or highest trade of the last `windowSec`. */
    movePct: positive.default(2),
    windowSec: positive.default(60),
  })
  .strict();

export const volumeSpikeRuleSchema = z
  .object({
    ...base,
    kind: z.literal('volume_spike'),
    /** A trade at least this many times the symbol's typical size (rolling geometric mean of its trade sizes). */
    ratio: positive.default(1000),
    /** And at least this many shares, so a symbol that trades in odd lots doesn't alert on a round lot. */
    minShares: z.number().finite().nonnegative().default(0),
    /** Half-life of the rolling (exponentially weighted) baseline, in trades. */
    halfLifeTrades: z.number().int().positive().default(500),
    /** No alert before the baseline has seen this many trades of the symbol. */
    minTrades: z.number().int().nonnegative().default(100),
  })
  .strict();

export const spreadBlowoutRuleSchema = z
  .object({
    ...base,
    kind: z.literal('spread_blowout'),
    /** A quote at least this wide (bps of the mid) … */
    minBps: positive.default(50),
    /** … and at least this many times the symbol's rolling mean spread. */
    ratio: positive.default(5),
    halfLifeQuotes: z.number().int().positive().default(200),
    minQuotes: z.number().int().nonnegative().default(50),
  })
  .strict();

export const vwapDeviationRuleSchema = z
  .object({
    ...base,
    kind: z.literal('vwap_deviation'),
    /** A trade at least this far (bps) from the symbol's session VWAP (enriched `sessionVwap`). */
    deviationBps: positive.default(300),
    /** Not before the session has this many trades of the symbol (an early VWAP is one price). */
    minSessionTrades: z.number().int().nonnegative().default(200),
    /** After an alert, the rule re-arms once the deviation falls below this fraction of `deviationBps`. */
    rearmFraction: z.number().min(0).max(1).default(0.5),
  })
  .strict();

export const staleFeedRuleSchema = z
  .object({
    ...base,
    kind: z.literal('stale_feed'),
    /** `symbol`: one symbol silent; `source`: a whole source silent (alert symbol '*', `source` set). */
    scope: z.enum(['symbol', 'source']).default('symbol'),
    /** Silent for at least this long in event time (the partition's watermark minus the last tick). */
    silenceSec: positive.default(60),
    /** And for at least this many of the symbol's mean gaps between ticks (quiet symbols get more time); 0 = off. */
    gapMultiple: z.number().finite().nonnegative().default(0),
  })
  .strict();

export const modelScoreRuleSchema = z
  .object({
    ...base,
    kind: z.literal('model_score'),
    /** The registered scorer's name (AlertEngineOptions.scorers); the models issue provides them. */
    scorer: z.string().min(1),
    /** A closed bar scored at or above this fires. */
    threshold: z.number().finite(),
  })
  .strict();

export const alertRuleSchema = z.discriminatedUnion('kind', [
  priceMoveRuleSchema,
  volumeSpikeRuleSchema,
  spreadBlowoutRuleSchema,
  vwapDeviationRuleSchema,
  staleFeedRuleSchema,
  modelScoreRuleSchema,
]);
export type AlertRule = z.output<typeof alertRuleSchema>;
export type RuleOf<K extends RuleKind> = Extract<AlertRule, { kind: K }>;

export const ALERT_RULES_FILE_VERSION = 1 as const;

export const alertRulesFileSchema = z
  .object({
    version: z.literal(ALERT_RULES_FILE_VERSION),
    defaults: z
      .object({
        cooldownSec: z.number().finite().nonnegative().default(300),
      })
      .strict()
      .prefault({}),
    rules: z.array(alertRuleSchema),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Map<string, number>();
    file.rules.forEach((r, i) => {
      const first = seen.get(r.id);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'id'],
          message: `duplicate rule id (rules[${first}] has it)`,
        });
      }
      seen.set(r.id, i);
    });
  });
export type AlertRulesFileInput = z.input<typeof alertRulesFileSchema>;
export type AlertRulesFile = z.output<typeof alertRulesFileSchema>;

/** What the engine runs: the enabled rules with their cooldown resolved. */
export type ResolvedRule = AlertRule & { cooldownUs: number };

export function resolveRules(file: AlertRulesFile): ResolvedRule[] {
  return file.rules
    .filter((r) => r.enabled)
    .map((r) => ({ ...r, cooldownUs: Math.round((r.cooldownSec ?? file.defaults.cooldownSec) * 1e6) }));
}

/** Parses already-loaded rules (tests, the batch path); the edge's file loader adds line numbers to the errors. */
export function parseAlertRules(input: unknown): ResolvedRule[] {
  return resolveRules(alertRulesFileSchema.parse(input));
}
