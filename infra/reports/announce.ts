import { TickLakeError } from '../../core/errors.ts';
import { urlRefusal } from '../../core/webhooks/endpoint.ts';
import { judgeAttempt } from '../../core/webhooks/outcome.ts';
import { reportPayload, reportWebhookId, type ReportRef } from '../../core/schemas/report.ts';
import { endpointAgent, postOnce } from '../../streaming/webhooks/http.ts';
import { secretKey, webhookHeaders } from '../../streaming/webhooks/sign.ts';

/**
 * One `report.published` webhook: the same Standard Webhooks signature, allowlist and status-code rules as the alert
 * webhooks (docs/WEBHOOKS.md), one attempt per call. The caller retries (Temporal's activity retry): a throttled or
 * failing receiver throws UPSTREAM_UNAVAILABLE, a 410 or a refused URL throws a non-retryable error.
 */
export interface AnnounceOptions {
  url: string;
  /** The `whsec_` secrets (two while rotating). */
  secrets: readonly string[];
  allowedHosts: readonly string[];
  timeoutMs: number;
  nowMs?: number;
}

export async function announceReport(ref: ReportRef, o: AnnounceOptions): Promise<{ webhookId: string; status: number }> {
  const refusal = urlRefusal(o.url, o.allowedHosts);
  if (refusal) throw new TickLakeError('CONFIG_INVALID', `reports.webhookUrl refused: ${refusal}`);
  if (!o.secrets.length) {
    throw new TickLakeError('CONFIG_INVALID', 'reports.webhookUrl is set but none of reports.webhookSecretEnv is');
  }
  const now = o.nowMs ?? Date.now();
  const id = reportWebhookId(ref);
  const body = reportPayload(ref, now);
  const headers = webhookHeaders(o.secrets.map(secretKey), id, Math.floor(now / 1000), body);
  const agent = endpointAgent(o.url, 1);
  try {
    const result = await postOnce(o.url, headers, body, { timeoutMs: o.timeoutMs, agent });
    const verdict = judgeAttempt(result, now);
    if (verdict.action === 'done') return { webhookId: id, status: result.kind === 'response' ? result.status : 200 };
    if (verdict.action === 'disable') {
      throw new TickLakeError('CONFIG_INVALID', `report webhook ${new URL(o.url).origin}: ${verdict.detail}`);
    }
    throw new TickLakeError('UPSTREAM_UNAVAILABLE', `report webhook ${new URL(o.url).origin}: ${verdict.detail}`, {
      details: { outcome: verdict.outcome, retryAfterMs: verdict.retryAfterMs },
    });
  } finally {
    agent.destroy();
  }
}
