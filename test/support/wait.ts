import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';

/** Polls `check` until it holds; fails naming `what` after `timeoutMs`. Tests wait on conditions, never on time. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Waits until consumer group `groupId` has settled (state Stable) with `members` members, each assigned. */
export async function waitForGroup(kafka: Kafka, groupId: string, members: number, timeoutMs = 60_000): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await waitUntil(
      async () => {
        const { groups } = await admin.describeGroups([groupId]);
        const g = groups[0];
        return (
          g?.state === 'Stable' && g.members.length === members && g.members.every((m) => m.memberAssignment.length > 0)
        );
      },
      `group ${groupId} to be stable with ${members} member(s)`,
      timeoutMs,
      100,
    );
  } finally {
    await admin.disconnect();
  }
}
