import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReportActivities } from '../../../activities/report.ts';
import { dayRangeUs, previousDay } from '../../../core/reports/model.ts';
import type { Alert } from '../../../core/schemas/alert.ts';
import type { Bar } from '../../../core/schemas/bar.ts';
import type { ReportRef } from '../../../core/schemas/report.ts';
import { kafkaClient } from '../../../infra/clients.ts';
import { PdfPrinter, pdfPageCount } from '../../../infra/reports/pdf.ts';
import { symbolsOnDay } from '../../../infra/reports/gather.ts';
import type { SourceRange } from '../../../lake/layout.ts';
import { S3Storage } from '../../../lake/storage/s3.ts';
import { alertsTable, barsTable } from '../../../lake/tables.ts';
import { LakeWriter } from '../../../lake/writer.ts';
import { WebhookReceiver } from '../../../streaming/webhooks/receiver.ts';
import { newSecret, secretKey } from '../../../streaming/webhooks/sign.ts';
import { WORKFLOW_IDS } from '../../../workflows/constants.ts';
import { dailyReportWorkflow } from '../../../workflows/index.ts';
import { uniqueName } from '../../support/ids.ts';
import { deleteTopicsWithPrefix, readTopic } from '../../support/kafka.ts';
import { syntheticDay } from '../../support/report-day.ts';
import { testStackConfig } from '../../support/stack.ts';
import { localTemporal, recordHistory, startTestWorker } from '../../support/temporal.ts';

/**
 * The daily report end to end on the test stack: a synthetic day written to a lake on S3 (its own prefix), the
 * report workflow on a Temporal dev server, the PDF printed by Debian's Chromium, the announcement received by the
 * real webhook receiver, dead-letter and late counts from real Kafka topics.
 */
const config = testStackConfig();
const run = uniqueName('it-report');
const DATE = previousDay(Date.now());
const { fromUs } = dayRangeUs(DATE);
const SECRET = newSecret();
const EVIL = '<script>alert(1)</script><img src=x onerror=alert(2)>';
const lake = new S3Storage(config.s3, { prefix: `${run}/lake/` });
const reports = new S3Storage(config.s3, { prefix: `${run}/reports/` });
const topics = { dlq: `${run}.ticks.dlq`, late: `${run}.ticks.late` };
const received: { ref: ReportRef; id: string }[] = [];
const receiver = new WebhookReceiver({
  secrets: [secretKey(SECRET)],
  toleranceSec: 300,
  seenCapacity: 100,
  print: () => undefined,
  onReport: (ref, id) => received.push({ ref, id }),
});
const printer = new PdfPrinter(config.reports.chromiumPath);
const day = syntheticDay(DATE, { symbols: 12, fromMinute: 13 * 60, toMinute: 15 * 60, skipEvery: 30, seed: 3 });
let kafka: Kafka;
let env: TestWorkflowEnvironment;
let stopWorker: () => Promise<void>;
const taskQueue = `report-test-${randomUUID()}`;
const range = (topic: string, n: number): SourceRange => ({
  topic,
  partition: 0,
  startOffset: String(n),
  endOffset: String(n),
});

beforeAll(async () => {
  const writer = new LakeWriter(lake);
  const evil: Alert = { ...day.alerts[0]!, id: 'evil', symbol: `EVIL"><svg onload=alert(3)>`, message: EVIL };
  await writer.commit(barsTable, await writer.writeFile(barsTable, day.bars, range('bars.1m', 0)));
  await writer.commit(alertsTable, await writer.writeFile(alertsTable, [...day.alerts, evil], range('alerts', 0)));
  // The day before: one more symbol, which then falls silent.
  const before = syntheticDay(previousDay(fromUs / 1000), { symbols: 1, fromMinute: 600, toMinute: 610 }).bars.map(
    (b): Bar => ({ ...b, symbol: 'GONE' }),
  );
  await writer.commit(barsTable, await writer.writeFile(barsTable, before, range('bars.1m', 1)));

  kafka = kafkaClient(config, run);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: topics.dlq }, { topic: topics.late }], waitForLeaders: true });
  await admin.disconnect();
  // Idempotent: a retried send on the busy shared broker must not count twice.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const at = (minute: number) => String(fromUs / 1000 + minute * 60_000);
  // Three dead letters and one late trade in the day, one of each the day after (not counted).
  await producer.send({
    topic: topics.dlq,
    messages: [at(60), at(61), at(62), at(24 * 60 + 5)].map((timestamp) => ({ value: 'x', timestamp })),
  });
  await producer.send({
    topic: topics.late,
    messages: [at(70), at(24 * 60 + 5)].map((timestamp) => ({ value: 'x', timestamp })),
  });
  await producer.disconnect();

  const port = await receiver.listen(0, '127.0.0.1');
  env = await localTemporal();
  stopWorker = await startTestWorker(
    env,
    taskQueue,
    createReportActivities({
      storage: lake,
      reports,
      reportsUri: `s3://${config.s3.bucket}/${run}/reports/`,
      printer,
      kafka: { client: kafka, dlqTopic: topics.dlq, lateTopic: topics.late },
      expectedSymbols: (date) => symbolsOnDay(lake, previousDay(dayRangeUs(date).fromUs / 1000)),
      announce: {
        url: `http://127.0.0.1:${port}/hooks`,
        secrets: [SECRET],
        allowedHosts: ['127.0.0.1'],
        timeoutMs: 5_000,
      },
    }),
  );
}, 120_000);

afterAll(async () => {
  await stopWorker?.();
  await env?.teardown();
  await printer.close();
  await receiver.close();
  await deleteTopicsWithPrefix(kafka, `${run}.`).catch(() => undefined);
  for (const s of [lake, reports]) {
    for (const o of await s.list('')) await s.delete(o.key);
    s.client.destroy();
  }
});

/** The first cell of each row of the table under `heading` in the HTML. */
function firstColumn(html: string, heading: string): string[] {
  const at = html.indexOf(heading);
  const table = html.slice(html.indexOf('<tbody>', at), html.indexOf('</tbody>', at));
  return [...table.matchAll(/<tr><td>([^<]*)<\/td>/g)].map((m) => m[1]!);
}

/** The oracle: open -> close % and summed volume per symbol, straight from the rows written. */
function expected(bars: readonly Bar[]) {
  const by = new Map<string, Bar[]>();
  for (const b of bars) by.set(b.symbol, [...(by.get(b.symbol) ?? []), b]);
  const rows = [...by].map(([symbol, list]) => {
    list.sort((a, b) => a.windowStart - b.windowStart);
    return {
      symbol,
      pct: (list.at(-1)!.close / list[0]!.open - 1) * 100,
      volume: list.reduce((n, b) => n + b.volume, 0),
    };
  });
  return {
    gainers: rows
      .filter((r) => r.pct > 0)
      .sort((a, b) => b.pct - a.pct)
      .slice(0, 10)
      .map((r) => r.symbol),
    leaders: [...rows]
      .sort((a, b) => b.volume - a.volume)
      .slice(0, 10)
      .map((r) => r.symbol),
  };
}

describe('daily report', () => {
  let html: string;
  let first: Awaited<ReturnType<typeof dailyReportWorkflow>>;

  it('the workflow writes HTML and PDF under reports/date=…/ and announces them, signed, to the receiver', async () => {
    const workflowId = WORKFLOW_IDS.dailyReport(`${DATE}-${randomUUID()}`);
    first = await env.client.workflow.execute(dailyReportWorkflow, { taskQueue, workflowId, args: [{ date: DATE }] });
    await recordHistory(env, 'daily-report', workflowId);
    expect(first.status).toBe('written');
    if (first.status !== 'written') return;
    expect(first.ref.html.key).toBe(`date=${DATE}/report.html`);
    expect(first.ref.pdf?.key).toBe(`date=${DATE}/report.pdf`);
    expect(first.ref.summary).toMatchObject({ symbols: 12, bars: day.bars.length, alerts: day.alerts.length + 1 });
    expect(received).toHaveLength(1);
    expect(received[0]!.ref).toEqual(first.ref);
    expect(received[0]!.id).toBe(first.announced);
    expect(receiver.counts).toMatchObject({ accepted: 1, rejected: 0 });

    html = new TextDecoder().decode((await reports.get(first.ref.html.key))!);
    const pdf = (await reports.get(first.ref.pdf!.key))!;
    expect(Buffer.from(pdf.subarray(0, 5)).toString('latin1')).toBe('%PDF-');
    expect(pdfPageCount(pdf)).toBeGreaterThanOrEqual(1);
    expect(pdf.byteLength).toBe(first.ref.pdf!.bytes);
    // Artifacts to look at (the root reports/ is gitignored).
    const artifacts = fileURLToPath(new URL('../../../reports/daily-report/', import.meta.url));
    await mkdir(artifacts, { recursive: true });
    await writeFile(join(artifacts, 'report.html'), html);
    await writeFile(join(artifacts, 'report.pdf'), pdf);
  }, 120_000);

  it('movers and volume leaders are the ones computed from the same rows; silent symbols, DLQ and late counts', async () => {
    const want = expected(day.bars);
    expect(firstColumn(html, '<h3>Gainers</h3>')).toEqual(want.gainers);
    expect(firstColumn(html, '<h2>Volume leaders</h2>')).toEqual(want.leaders);
    expect(html).toContain('silent all day (1): GONE');
    const pipeline = html.slice(html.indexOf('<h2>Pipeline</h2>') + 17, html.indexOf('<table>', html.indexOf('<h2>Pipeline</h2>')));
    // Counted from what the topics hold (a send the busy shared broker made the producer retry may be there twice).
    const inDay = async (topic: string) =>
      (await readTopic(kafka, topic)).filter((m) => Number(m.timestamp) * 1000 >= fromUs && Number(m.timestamp) * 1000 < fromUs + 86_400_000_000).length;
    const [dlq, late] = [await inDay(topics.dlq), await inDay(topics.late)];
    expect(dlq).toBeGreaterThanOrEqual(3);
    expect(pipeline).toBe(`<p>Dead-lettered records: <b>${dlq}</b> · late trades (past the allowed lateness): <b>${late}</b>.</p>`);
    expect((html.match(/<svg/g) ?? []).length).toBe(3);
  }, 60_000);

  it('escapes a hostile symbol and message, and carries no secret', () => {
    expect(html).not.toContain('<script');
    const tags = html.match(/<[a-z][^>]*>/gi) ?? [];
    expect(tags.filter((t) => /\son\w+=/i.test(t))).toEqual([]);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;');
    expect(html).toContain('EVIL&quot;&gt;&lt;svg onload=alert(3)&gt;');
    for (const secret of [SECRET, SECRET.slice(6), config.s3.secretAccessKey]) expect(html).not.toContain(secret);
  });

  it('re-rendering the date replaces the same two objects', async () => {
    const again = await env.client.workflow.execute(dailyReportWorkflow, {
      taskQueue,
      workflowId: WORKFLOW_IDS.dailyReport(`${DATE}-${randomUUID()}`),
      args: [{ date: DATE }],
    });
    expect(again.status).toBe('written');
    expect((await reports.list('')).map((o) => o.key)).toEqual([`date=${DATE}/report.html`, `date=${DATE}/report.pdf`]);
  }, 120_000);

  it('a day without bars is a no_data outcome for the workflow and exit code 2 with what to do for the CLI', async () => {
    const empty = await env.client.workflow.execute(dailyReportWorkflow, {
      taskQueue,
      workflowId: WORKFLOW_IDS.dailyReport(`2020-01-01-${randomUUID()}`),
      args: [{ date: '2020-01-01' }],
    });
    expect(empty).toEqual({ status: 'no_data', date: '2020-01-01', daysWithBars: [previousDay(fromUs / 1000), DATE] });

    const bin = fileURLToPath(new URL('../../../bin/ticklake.mjs', import.meta.url));
    const cliEnv = {
      ...process.env,
      TICKLAKE_S3_LAKE_PREFIX: `${run}/lake/`,
      TICKLAKE_REPORTS_PREFIX: `${run}/reports/`,
      TICKLAKE_TOPICS_PREFIX: `${run}.`,
    };
    const fail = await promisify(execFile)(process.execPath, [bin, '--profile', 'test', 'report', '--date', '2020-01-01'], {
      env: cliEnv,
    }).catch((e: { code: number; stderr: string }) => e);
    expect('code' in fail && fail.code).toBe(5);
    expect((fail as { stderr: string }).stderr).toContain(
      `no bars in the lake for 2020-01-01: the lake has bars for 2 day(s), ${previousDay(fromUs / 1000)} to ${DATE}`,
    );

    const out = await mkdtemp(join(tmpdir(), 'report-cli-'));
    try {
      const ok = await promisify(execFile)(
        process.execPath,
        [bin, '--profile', 'test', 'report', '--date', DATE, '--no-pdf', '--out', out, '--json'],
        { env: cliEnv },
      );
      const printed = JSON.parse(ok.stdout) as { ref: ReportRef; report: { gainers: { symbol: string }[] } };
      expect(printed.ref.pdf).toBeNull();
      expect(printed.report.gainers.map((g) => g.symbol)).toEqual(expected(day.bars).gainers);
      expect(await readFile(join(out, `report-${DATE}.html`), 'utf8')).toContain(`Daily market report · ${DATE}`);
      // HTML only: the earlier render's PDF is gone rather than left beside an HTML it no longer matches.
      expect((await reports.list('')).map((o) => o.key)).toEqual([`date=${DATE}/report.html`]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 240_000); // two CLI processes: ~20 s each to start on the shared 2-core machine
});
