import { randomBytes } from 'node:crypto';

/** A short random suffix so tests sharing one stack never collide on topics, groups or keys. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}
