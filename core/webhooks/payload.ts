import type { Alert } from '../schemas/alert.ts';

/**
 * The bytes an endpoint receives. `standard`: a Standard Webhooks envelope (`type`, `timestamp`, `data` = the
 * alert as in the `alerts` topic). `slack`: a Slack incoming-webhook message (`text` in Slack's mrkdwn, plus the
 * alert's fields as a context block). Both are deterministic in the alert, so a retry sends the same body.
 */
export type PayloadFormat = 'standard' | 'slack';

export const ALERT_EVENT_TYPE = 'alert.fired';

/** The `webhook-id`: the alert's own deterministic id, so every retry, and a re-evaluation of the stream, dedupes. */
export function webhookIdFor(alert: Pick<Alert, 'id'>): string {
  return `alert_${alert.id}`;
}

export function payloadFor(alert: Alert, format: PayloadFormat): string {
  if (format === 'slack') return JSON.stringify(slackMessage(alert));
  return JSON.stringify({
    type: ALERT_EVENT_TYPE,
    timestamp: new Date(alert.emittedTs / 1000).toISOString(),
    data: alert,
  });
}

const ICON = { info: ':information_source:', warning: ':warning:', critical: ':rotating_light:' } as const;

function slackMessage(a: Alert) {
  const text = `${ICON[a.severity]} *${a.severity}* ${a.rule} on *${a.symbol}*: ${a.message}`;
  const at = new Date(a.ts / 1000).toISOString();
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `value ${a.value} · threshold ${a.threshold} · at ${at} · id \`${a.id}\`` }],
      },
    ],
  };
}
