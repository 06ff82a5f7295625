/**
 * The closed list of error codes ticklake raises. `retryable` carries meaning to the edges: Temporal activities
 * turn them into ApplicationFailures typed by code, non-retryable when the code is (infra/temporal/failures.ts),
 * stream processors send non-retryable input errors to the DLQ instead of retrying, and the sink's retry loop
 * gives up at once on a non-retryable one.
 */
export const ERROR_CODES = {
  /** A setting or option is invalid (names the key and where it came from). */
  CONFIG_INVALID: { retryable: false },
  /** The local stack lacks a tool (go, java, mvn). */
  PREREQUISITE_MISSING: { retryable: false },
  /** A port ticklake would listen on is taken (names the setting to change). */
  PORT_IN_USE: { retryable: false },
  PROVISION_FAILED: { retryable: true },
  SERVICE_UNHEALTHY: { retryable: true },
  /** Data (a record, a file, a request) is malformed; retrying gives the same answer. */
  INPUT_INVALID: { retryable: false },
  /** A server (Kafka, S3, BigQuery) did not answer or answered with a transient failure. */
  UPSTREAM_UNAVAILABLE: { retryable: true },
  /** A lake table's new schema is not a legal evolution of the stored one. */
  SCHEMA_INCOMPATIBLE: { retryable: false },
  /** A commit's source offsets overlap what the manifest already holds: another writer got there first. */
  OFFSET_OVERLAP: { retryable: false },
  /** An upload lost its race: the object was replaced or the writer's lease is gone; the caller re-plans. */
  STALE_UPLOAD: { retryable: true },
  /** A manifest object is missing or does not parse; a person has to look. */
  MANIFEST_CORRUPT: { retryable: false },
  /** A worker thread failed or exited; the pool replaces it, so the work is retried on a fresh one. */
  WORKER_FAILED: { retryable: true },
  /** A processor checkpoint or its offset metadata is missing or does not parse. */
  STATE_CORRUPT: { retryable: false },
  /** A broken invariant in ticklake itself: a bug, not the input or the environment. */
  INTERNAL: { retryable: false },
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
