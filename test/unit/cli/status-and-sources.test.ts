import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatStatusReport } from '../../../cli/status-command.ts';
import type { StatusReport } from '../../../cli/status.ts';
import { createReplaySource } from '../../../streaming/sources/replay/source.ts';
import { createSyntheticSource } from '../../../streaming/sources/synthetic/source.ts';

const FIXTURES = fileURLToPath(new URL('../../fixtures/replay/', import.meta.url));

describe('bounded sources report how far they are (the ingest progress bar)', () => {
  it('replay: rows counted, the fraction through its files, which file', async () => {
    const src = createReplaySource({ files: [FIXTURES + 'trades-ms.csv', FIXTURES + 'quotes-ns.ndjson'], speed: 0 });
    expect(src.progress?.()).toEqual({ done: 0, unit: 'rows', fraction: 0 });
    const seen: number[] = [];
    for await (const _ of src.batches(new AbortController().signal)) seen.push(src.progress!()!.fraction!);
    // Never backwards, and done at the end.
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(src.progress?.()).toEqual({ done: 12, unit: 'rows', fraction: 1, detail: 'file 2/2 quotes-ns.ndjson' });
  });

  it('synthetic: a total with maxTicks, a fraction of event time with durationSec, nothing when open-ended', async () => {
    const bounded = createSyntheticSource({ speed: 0, maxTicks: 500, start: '2026-03-02T14:30:00Z' });
    for await (const _ of bounded.batches(new AbortController().signal));
    expect(bounded.progress?.()).toEqual({ done: 500, unit: 'ticks', total: 500 });

    const timed = createSyntheticSource({ speed: 0, durationSec: 5, start: '2026-03-02T14:30:00Z' });
    expect(timed.progress?.()).toMatchObject({ done: 0, fraction: 0 });
    for await (const _ of timed.batches(new AbortController().signal));
    expect(timed.progress?.()).toMatchObject({ unit: 'ticks', fraction: 1 });

    expect(createSyntheticSource({ speed: 0 }).progress?.()).toBeUndefined();
  });
});

describe('ticklake status on screen', () => {
  const at = '2026-12-02T12:00:00.000Z';
  const down: StatusReport = {
    generatedAt: at,
    ok: false,
    stack: {
      ok: true,
      services: [
        { name: 'kafka', state: 'stopped', ports: [9092, 9093], urls: {} },
        { name: 'temporal', state: 'healthy', ports: [7233], urls: {}, pid: 1 },
      ],
    },
    processes: {
      ok: true,
      processes: [
        {
          role: 'sink',
          url: 'http://127.0.0.1:9466/healthz',
          state: 'unhealthy',
          failing: ['s3: unreachable since 11:58'],
        },
      ],
    },
    lag: { ok: false, error: '127.0.0.1:9092 refused the connection (ECONNREFUSED)' },
    batch: {
      ok: true,
      runs: [
        {
          workflowType: 'compactionSweepWorkflow',
          scheduleId: 'ticklake-compaction-sweep',
          workflowId: 'compaction-sweep/x',
          status: 'RUNNING',
          startedAt: '2026-12-02T11:59:30.000Z',
          closedAt: null,
          lastClosed: { workflowId: 'compaction-sweep/w', status: 'FAILED', closedAt: '2026-12-02T11:45:00.000Z' },
        },
      ],
    },
    freshness: {
      ok: true,
      tables: [
        {
          table: 'ticks',
          maxEventAt: '2026-12-02T11:30:00.000Z',
          ageSec: 1800,
          lastLoadAt: '2026-12-02T11:55:00.000Z',
        },
      ],
    },
  };

  it('says what is down, what to run, and how old things are', () => {
    const text = formatStatusReport(down, { profile: 'test' });
    expect(text.split('\n')[0]).toBe(`ticklake status at ${at}: NOT OK`);
    expect(text).toMatch(/kafka +stopped +9092,9093/);
    expect(text).toContain('next: ticklake --profile test stack up');
    expect(text).toMatch(/sink +unhealthy +http:\/\/127\.0\.0\.1:9466\/healthz +s3: unreachable since 11:58/);
    expect(text).toContain('Kafka unreachable: 127.0.0.1:9092 refused the connection (ECONNREFUSED)');
    expect(text).toMatch(
      /compactionSweepWorkflow +RUNNING \(before: FAILED 15m00s ago\) +30s ago +- +compaction-sweep\/x/,
    );
    expect(text).toMatch(/ticks +2026-12-02T11:30:00\.000Z +30m00s +5m00s ago/);
  });

  it('fits one screen: a full pipeline in under 50 lines', () => {
    const full: StatusReport = {
      ...down,
      stack: {
        ok: true,
        services: ['kafka', 'temporal', 's3', 'bigquery', 'prometheus'].map((name) => ({
          name,
          state: 'healthy' as const,
          ports: [1],
          urls: {},
        })),
      },
      processes: {
        ok: true,
        processes: (['worker', 'process', 'sink', 'ingest', 'alerts', 'webhooks'] as const).map((role) => ({
          role,
          url: 'http://127.0.0.1:1/healthz',
          state: 'up' as const,
          failing: [],
        })),
      },
      lag: {
        ok: true,
        groups: Array.from({ length: 7 }, (_, i) => ({
          group: `g${i}`,
          topic: 't',
          lag: i,
          partitions: 6,
          state: 'Stable',
          members: 1,
        })),
      },
    };
    const lines = formatStatusReport(full).split('\n');
    expect(lines.length).toBeLessThan(50);
    expect(lines.every((l) => l.length <= 160)).toBe(true);
  });
});
