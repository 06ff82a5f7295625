import type { Config } from '../../core/config.ts';

export interface StackContext {
  config: Config;
  /** Human progress lines, shown during the long first provisioning. */
  progress: (line: string) => void;
}

export interface LaunchSpec {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** One local server of the stack. Each lives in its own file under services/ and is listed in services/index.ts. */
export interface StackService {
  readonly name: string;
  /** Optional services are skipped, with the reason, when their binary is missing; required ones fail. */
  readonly optional: boolean;
  ports(config: Config): number[];
  /** Ensures binaries are cached. Idempotent. For optional services returns a reason when unavailable. */
  provision(ctx: StackContext): Promise<string | undefined>;
  /** Prepares state (formats storage, writes config) and returns how to start the server. */
  prepare(ctx: StackContext): Promise<LaunchSpec>;
  /** A real readiness probe: the server answers its own protocol. */
  healthy(config: Config): Promise<boolean>;
  /** Runs once after the server is healthy (create buckets, datasets). Idempotent. */
  bootstrap?(config: Config): Promise<void>;
  urls(config: Config): Record<string, string>;
}
