/** Workflow ids and names in one place, so clients, schedules and docs never spell them twice. */
export const WORKFLOW_IDS = {
  healthCheck: (requestId: string) => `health-check/${requestId}`,
} as const;
