import {
  type Client,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type ScheduleOptions,
  type ScheduleUpdateOptions,
} from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { TickLakeError } from '../../core/errors.ts';
import { batchSchedules, SCHEDULE_PREFIX, type ScheduleDef } from '../../workflows/schedules.ts';

/** Schedules on the Temporal server, made to match `batchSchedules()`; every call is idempotent. */

export interface ScheduleChange {
  id: string;
  action: 'created' | 'updated' | 'deleted';
}

export interface ScheduleSummary {
  id: string;
  workflowType: string;
  spec: string;
  paused: boolean;
  note: string;
  lastRun: string | null;
  nextRun: string | null;
}

function options(def: ScheduleDef, taskQueue: string): ScheduleOptions {
  return {
    scheduleId: def.id,
    spec: {
      intervals: def.spec.intervals?.map((i) => ({ every: i.every as Duration, offset: i.offset as Duration })),
      cronExpressions: def.spec.cronExpressions,
    },
    action: {
      type: 'startWorkflow',
      workflowType: def.workflowType,
      args: def.args,
      taskQueue,
      workflowId: def.workflowId,
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: def.catchupWindow as Duration },
    memo: { description: def.description },
  };
}

/** Creates missing schedules, updates listed ones in place (a pause stays a pause), deletes unlisted `ticklake-*`. */
export async function applySchedules(client: Client, taskQueue: string): Promise<ScheduleChange[]> {
  const wanted = batchSchedules();
  const changes: ScheduleChange[] = [];
  for (const def of wanted) {
    const opts = options(def, taskQueue);
    const handle = client.schedule.getHandle(def.id);
    try {
      await handle.update((prev): ScheduleUpdateOptions => ({
        ...prev,
        spec: opts.spec,
        action: opts.action,
        policies: opts.policies,
      }));
      changes.push({ id: def.id, action: 'updated' });
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
      await client.schedule.create(opts);
      changes.push({ id: def.id, action: 'created' });
    }
  }
  const ids = new Set(wanted.map((d) => d.id));
  for await (const s of client.schedule.list()) {
    if (s.scheduleId.startsWith(SCHEDULE_PREFIX) && !ids.has(s.scheduleId)) {
      await client.schedule.getHandle(s.scheduleId).delete();
      changes.push({ id: s.scheduleId, action: 'deleted' });
    }
  }
  return changes;
}

export async function listSchedules(client: Client): Promise<ScheduleSummary[]> {
  const out: ScheduleSummary[] = [];
  for await (const s of client.schedule.list()) {
    if (!s.scheduleId.startsWith(SCHEDULE_PREFIX)) continue;
    // The list comes from the visibility store, which trails writes: a schedule deleted a moment ago (by `apply`,
    // or another operator) can still be listed and then not be found. It is gone, so it is not listed.
    const d = await client.schedule
      .getHandle(s.scheduleId)
      .describe()
      .catch((err: unknown) => {
        if (err instanceof ScheduleNotFoundError) return null;
        throw err;
      });
    if (d === null) continue;
    // The server compiles cron lines into calendars; the catalog's own words read better.
    const def = batchSchedules().find((x) => x.id === s.scheduleId);
    const spec = def ? specText(def) : 'not in the catalog (apply deletes it)';
    const last = d.info.recentActions.at(-1)?.takenAt;
    out.push({
      id: s.scheduleId,
      workflowType: d.action.type === 'startWorkflow' ? d.action.workflowType : d.action.type,
      spec,
      paused: d.state.paused,
      note: d.state.note ?? '',
      lastRun: last ? last.toISOString() : null,
      nextRun: d.info.nextActionTimes[0]?.toISOString() ?? null,
    });
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

export function specText(def: ScheduleDef): string {
  return [
    ...(def.spec.intervals ?? []).map((i) => `every ${i.every}${i.offset ? ` at +${i.offset}` : ''}`),
    ...(def.spec.cronExpressions ?? []).map((c) => `cron "${c}" UTC`),
  ].join(', ');
}

function known(id: string): string {
  const full = id.startsWith(SCHEDULE_PREFIX) ? id : `${SCHEDULE_PREFIX}${id}`;
  if (!batchSchedules().some((d) => d.id === full)) {
    throw new TickLakeError(
      'INPUT_INVALID',
      `no schedule ${JSON.stringify(id)}; known: ${batchSchedules()
        .map((d) => d.id)
        .join(', ')}`,
    );
  }
  return full;
}

async function onSchedule<T>(client: Client, id: string, fn: (full: string) => Promise<T>): Promise<T> {
  const full = known(id);
  try {
    return await fn(full);
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) {
      throw new TickLakeError(
        'INPUT_INVALID',
        `schedule ${full} is not on the server: run \`ticklake schedules apply\``,
      );
    }
    throw err;
  }
}

export const pauseSchedule = (client: Client, id: string, note = 'paused by ticklake schedules pause') =>
  onSchedule(client, id, (full) => client.schedule.getHandle(full).pause(note));
export const resumeSchedule = (client: Client, id: string, note = 'resumed by ticklake schedules resume') =>
  onSchedule(client, id, (full) => client.schedule.getHandle(full).unpause(note));
/** Runs it now; a run still in progress makes this one skip, as the schedule's own overlap policy does. */
export const triggerSchedule = (client: Client, id: string) =>
  onSchedule(client, id, (full) => client.schedule.getHandle(full).trigger(ScheduleOverlapPolicy.SKIP));
export const deleteSchedule = (client: Client, id: string) =>
  onSchedule(client, id, (full) => client.schedule.getHandle(full).delete());
