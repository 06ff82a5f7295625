import type { Config } from '../core/config.ts';
import { envNameFor } from '../core/config.ts';
import { isTickLakeError, type ErrorCode } from '../core/errors.ts';

/**
 * The CLI's exit codes (docs/CLI.md lists them). A script tells "fix your flags" from "start the stack" from
 * "a person must look at the data" without parsing stderr.
 */
export const EXIT_CODES = {
  /** Done. */
  OK: 0,
  /** The command ran and its answer is "no": a check failed (`stack status`, `status`), a snapshot expired. */
  FAILED: 1,
  /** Bad usage: unknown command or option, missing argument. */
  USAGE: 2,
  /** A setting or option value is invalid (CONFIG_INVALID). */
  CONFIG: 3,
  /** A server (Kafka, Temporal, S3, BigQuery) is unreachable or unhealthy; retrying later may work. */
  UNAVAILABLE: 4,
  /** The data is the problem: malformed input, incompatible schema, corrupt manifest or state, offset overlap. */
  DATA: 5,
  /** This machine is the problem: a missing tool, a taken port, a failed download. */
  ENVIRONMENT: 6,
  /** A bug in ticklake (INTERNAL or an unexpected error): the stack trace is printed. */
  INTERNAL: 70,
} as const;

const CODE_EXIT: Record<ErrorCode, number> = {
  CONFIG_INVALID: EXIT_CODES.CONFIG,
  PREREQUISITE_MISSING: EXIT_CODES.ENVIRONMENT,
  PORT_IN_USE: EXIT_CODES.ENVIRONMENT,
  PROVISION_FAILED: EXIT_CODES.ENVIRONMENT,
  SERVICE_UNHEALTHY: EXIT_CODES.UNAVAILABLE,
  INPUT_INVALID: EXIT_CODES.DATA,
  UPSTREAM_UNAVAILABLE: EXIT_CODES.UNAVAILABLE,
  SCHEMA_INCOMPATIBLE: EXIT_CODES.DATA,
  OFFSET_OVERLAP: EXIT_CODES.DATA,
  STALE_UPLOAD: EXIT_CODES.UNAVAILABLE,
  MANIFEST_CORRUPT: EXIT_CODES.DATA,
  WORKER_FAILED: EXIT_CODES.INTERNAL,
  STATE_CORRUPT: EXIT_CODES.DATA,
  INTERNAL: EXIT_CODES.INTERNAL,
};

export interface FailureContext {
  /** The loaded config, when it loaded: names the endpoint that failed and its setting. */
  config?: Config;
  /** `--profile test` etc., repeated in the suggested commands. */
  profile?: string;
  /** The command that failed, e.g. `lake ls`, for "see ticklake lake ls --help". */
  command?: string;
}

export interface Failure {
  exitCode: number;
  /** The first line: what went wrong. */
  message: string;
  /** What to do next. */
  hint?: string;
  /** Print the stack trace (a bug, or TICKLAKE_DEBUG=1). */
  trace: boolean;
}

export function causeChain(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e: unknown = err; e !== undefined && e !== null && out.length < 10; e = (e as { cause?: unknown }).cause) {
    out.push(e);
    if (!(e instanceof Error)) break;
  }
  return out;
}

const textOf = (e: unknown) =>
  e instanceof Error ? `${e.name} ${e.message} ${(e as { code?: unknown }).code ?? ''}` : String(e);

/** A server of the stack, by what the error says (its class, its message, or the port it refused). */
export type Upstream = 'Kafka' | 'Temporal' | 'S3' | 'BigQuery';

const UPSTREAM_SETTING: Record<Upstream, string> = {
  Kafka: 'kafka.brokers',
  Temporal: 'temporal.address',
  S3: 's3.endpoint',
  BigQuery: 'bigquery.apiEndpoint',
};

function portOf(address: string): number | undefined {
  if (/^[a-z]+:\/\//i.test(address)) {
    try {
      const u = new URL(address);
      return u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
    } catch {
      return undefined;
    }
  }
  const m = /:(\d+)$/.exec(address);
  return m ? Number(m[1]) : undefined;
}

function upstreamPorts(config: Config): [Upstream, number][] {
  const out: [Upstream, number][] = [];
  for (const b of config.kafka.brokers) {
    const p = portOf(b);
    if (p) out.push(['Kafka', p]);
  }
  const add = (u: Upstream, addr: string | undefined) => {
    const p = addr ? portOf(addr) : undefined;
    if (p) out.push([u, p]);
  };
  add('Temporal', config.temporal.address);
  add('S3', config.s3.endpoint);
  add('BigQuery', config.bigquery.apiEndpoint);
  return out;
}

/** Which server an unreachable-looking error is about, or undefined when it does not look like one. */
export function unreachableUpstream(
  err: unknown,
  config?: Config,
): { upstream?: Upstream; address?: string } | undefined {
  const chain = causeChain(err);
  const all = chain.map(textOf).join(' <- ');
  const refused = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|socket hang up/.exec(all);
  const kafka = chain.some(
    (e) => e instanceof Error && /^KafkaJS(Connection|NumberOfRetriesExceeded|NonRetriable)/.test(e.name),
  );
  const temporal = /Failed to connect before the deadline|14 UNAVAILABLE|TransportError/.test(all);
  const tickLakeUnavailable = chain.some(
    (e) => isTickLakeError(e) && (e.code === 'UPSTREAM_UNAVAILABLE' || e.code === 'SERVICE_UNHEALTHY'),
  );
  if (!refused && !temporal && !(kafka && /Connection error|ECONN/.test(all)) && !tickLakeUnavailable) return undefined;
  const addr = /(?:ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH) ((?:\d{1,3}\.){3}\d{1,3}|\[[0-9a-f:]+\]|[\w.-]+):(\d+)/.exec(
    all,
  );
  const port = addr ? Number(addr[2]) : undefined;
  const byPort = port !== undefined && config ? upstreamPorts(config).find(([, p]) => p === port)?.[0] : undefined;
  const upstream: Upstream | undefined =
    byPort ??
    (kafka
      ? 'Kafka'
      : temporal
        ? 'Temporal'
        : /\bS3\b/.test(all)
          ? 'S3'
          : /bigquery/i.test(all)
            ? 'BigQuery'
            : undefined);
  if (!upstream && !refused && !tickLakeUnavailable) return undefined;
  return { upstream, address: addr ? `${addr[1]}:${addr[2]}` : undefined };
}

function stackUp(ctx: FailureContext): string {
  return `ticklake${ctx.profile ? ` --profile ${ctx.profile}` : ''} stack up`;
}

function firstLine(err: unknown): string {
  if (err instanceof Error) {
    const msg = err.message || err.name;
    return isTickLakeError(err) ? `${err.code}: ${msg}` : msg;
  }
  return String(err);
}

/** An error the CLI caught, as what to print and the exit code. */
export function describeFailure(err: unknown, ctx: FailureContext = {}): Failure {
  const debug = process.env.TICKLAKE_DEBUG === '1';
  const unreachable = unreachableUpstream(err, ctx.config);
  if (unreachable && (!isTickLakeError(err) || CODE_EXIT[err.code] === EXIT_CODES.UNAVAILABLE)) {
    const { upstream, address } = unreachable;
    const what = upstream ?? 'a server';
    const at = address ?? (upstream && ctx.config ? endpointOf(upstream, ctx.config) : undefined);
    const setting = upstream ? UPSTREAM_SETTING[upstream] : undefined;
    return {
      exitCode: EXIT_CODES.UNAVAILABLE,
      message: `${what}${at ? ` at ${at}` : ''} is unreachable (${lastCause(err)})`,
      hint:
        `start the stack: ${stackUp(ctx)}  (check it: ticklake${ctx.profile ? ` --profile ${ctx.profile}` : ''} status)` +
        (setting ? `; or point ${setting} (${envNameFor(setting)}) at a running ${upstream}` : ''),
      trace: debug,
    };
  }
  if (isTickLakeError(err)) {
    const exitCode = CODE_EXIT[err.code];
    // Settings errors come from the config loader (naming the key and its variable); the rest are about a flag.
    const setting = /configuration|config file|TICKLAKE_[A-Z_]+/.test(err.message);
    const hints: Partial<Record<ErrorCode, string>> = {
      CONFIG_INVALID: setting
        ? 'fix the setting named above, in the --config file ($TICKLAKE_CONFIG) or its TICKLAKE_* variable (`ticklake config env` lists them; docs/CONFIG.md explains them)'
        : `check the arguments: ticklake ${ctx.command ? `${ctx.command} ` : ''}--help`,
      PORT_IN_USE: 'stop what holds the port or change the setting named above',
      PREREQUISITE_MISSING: 'install the tool named above (docs/OPERATIONS.md, "The local stack")',
      PROVISION_FAILED: `retry ${stackUp(ctx)}; its log is under stack.stateDir (ticklake stack logs)`,
      SERVICE_UNHEALTHY: `check ticklake stack status and ticklake stack logs; ${stackUp(ctx)} restarts what is down`,
      MANIFEST_CORRUPT: 'a person has to look: see docs/OPERATIONS.md, "The lake"',
      STATE_CORRUPT: 'a person has to look: see docs/RELIABILITY.md',
      SCHEMA_INCOMPATIBLE: 'see docs/LAKE.md on schema evolution',
      INTERNAL: 'this is a bug in ticklake: please report it with the trace above',
    };
    return {
      exitCode,
      message: firstLine(err),
      hint: hints[err.code],
      trace: debug || exitCode === EXIT_CODES.INTERNAL,
    };
  }
  return {
    exitCode: EXIT_CODES.INTERNAL,
    message: firstLine(err),
    hint: 'an unexpected error: run again with TICKLAKE_DEBUG=1 for details, and report it if it persists',
    trace: true,
  };
}

function endpointOf(u: Upstream, config: Config): string | undefined {
  if (u === 'Kafka') return config.kafka.brokers.join(',');
  if (u === 'Temporal') return config.temporal.address;
  if (u === 'S3') return config.s3.endpoint;
  return config.bigquery.apiEndpoint;
}

function lastCause(err: unknown): string {
  const chain = causeChain(err);
  const deepest = chain[chain.length - 1];
  return deepest instanceof Error ? deepest.message || deepest.name : String(deepest);
}

/** The lines to print on stderr for a failure. */
export function formatFailure(err: unknown, f: Failure): string {
  const lines = [`ticklake: ${f.message}`];
  if (f.trace) {
    for (const e of causeChain(err)) lines.push(e instanceof Error ? (e.stack ?? e.message) : String(e));
  } else {
    for (const e of causeChain(err).slice(1)) {
      const line = firstLine(e);
      // The unreachable message already ends with the deepest cause; do not say it twice.
      if (!f.message.includes(line)) lines.push(`  caused by: ${line}`);
    }
  }
  if (f.hint) lines.push(`  next: ${f.hint}`);
  return `${lines.join('\n')}\n`;
}
