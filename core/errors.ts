/**
 * The closed list of error codes ticklake raises. `retryable` carries meaning to the edges:
 * Temporal activities turn non-retryable errors into ApplicationFailure.nonRetryable, and
 * stream processors send non-retryable input errors to the DLQ instead of retrying.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: { retryable: false },
  PREREQUISITE_MISSING: { retryable: false },
  PORT_IN_USE: { retryable: false },
  PROVISION_FAILED: { retryable: true },
  SERVICE_UNHEALTHY: { retryable: true },
  INPUT_INVALID: { retryable: false },
  UPSTREAM_UNAVAILABLE: { retryable: true },
} as const satisfies Record<string, { retryable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class TickLakeError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'TickLakeError';
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
    this.details = opts.details ?? {};
  }
}

export function isTickLakeError(err: unknown, code?: ErrorCode): err is TickLakeError {
  return err instanceof TickLakeError && (code === undefined || err.code === code);
}
