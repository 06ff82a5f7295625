import { describe, expect, it } from 'vitest';
import { Pacer, type Timed, pacedBatches } from '../../../../../streaming/sources/pacing.ts';
import { FakeClock } from './fake-clock.ts';

const BASE = 1_709_562_600_000_000;

/** Timed records at the given offsets, handed over in chunks of `chunk` (sources deliver them in chunks). */
function items(offsetsMs: number[], chunk = 2): Timed[][] {
  const all = offsetsMs.map((ms, i) => ({ record: { key: 'K', value: String(i) }, ts: BASE + ms * 1000 }));
  const chunks: Timed[][] = [];
  for (let i = 0; i < all.length; i += chunk) chunks.push(all.slice(i, i + chunk));
  return chunks;
}

async function collect(src: AsyncIterable<{ key: string; value: string | Buffer }[]>): Promise<string[][]> {
  const out: string[][] = [];
  for await (const b of src) out.push(b.map((r) => String(r.value)));
  return out;
}

describe('Pacer', () => {
  it('releases records at event-time offsets divided by the speed', () => {
    const clock = new FakeClock();
    const pacer = new Pacer(4, clock, 10_000);
    expect(pacer.delayMs(BASE)).toBe(0);
    expect(pacer.delayMs(BASE + 400_000)).toBe(100);
    clock.nowMs += 100;
    // Anchored: the consumer took 300 ms of wall time, so the next record (due at +200 ms) is already late.
    clock.nowMs += 300;
    expect(pacer.delayMs(BASE + 800_000)).toBe(0);
    // Out-of-order records are due at once.
    expect(pacer.delayMs(BASE + 100_000)).toBe(0);
  });

  it('shortens gaps longer than maxPauseMs and re-anchors after them', () => {
    const clock = new FakeClock();
    const pacer = new Pacer(1, clock, 2_000);
    pacer.delayMs(BASE);
    expect(pacer.delayMs(BASE + 3_600_000_000)).toBe(2_000);
    clock.nowMs += 2_000;
    expect(pacer.delayMs(BASE + 3_600_000_000 + 500_000)).toBe(500);
  });

  it('with an anchor, paces from the anchor rather than from the first record, catching up the time before it', () => {
    const clock = new FakeClock();
    const pacer = new Pacer(1, clock, 10_000, { evUs: BASE, wallMs: clock.nowMs });
    clock.nowMs += 350; // e.g. connecting and publishing reference data before the first record is pulled
    expect(pacer.delayMs(BASE)).toBe(0);
    expect(pacer.delayMs(BASE + 300_000)).toBe(0);
    // Due at anchor + 400 ms; without the anchor it would be due 400 ms after the first record, 350 ms later.
    expect(pacer.delayMs(BASE + 400_000)).toBe(50);
  });

  it('refuses speed 0 (which means unpaced)', () => {
    expect(() => new Pacer(0, new FakeClock(), 1)).toThrow(RangeError);
  });
});

describe('pacedBatches', () => {
  it('sleeps the event-time span / speed in total and flushes what is due before sleeping', async () => {
    const clock = new FakeClock();
    const start = clock.nowMs;
    const batches = await collect(
      pacedBatches(items([0, 0, 0, 1000, 1000, 3000]), {
        batchSize: 10,
        speed: 2,
        maxPauseMs: 10_000,
        signal: new AbortController().signal,
        clock,
      }),
    );
    expect(batches).toEqual([['0', '1', '2'], ['3', '4'], ['5']]);
    expect(clock.sleeps).toEqual([500, 1000]);
    expect(clock.nowMs - start).toBe(1500);
  });

  it('at speed 0 never sleeps and cuts batches by size only', async () => {
    const clock = new FakeClock();
    const batches = await collect(
      pacedBatches(items([0, 5000, 10_000, 20_000, 30_000]), {
        batchSize: 2,
        speed: 0,
        maxPauseMs: 10_000,
        signal: new AbortController().signal,
        clock,
      }),
    );
    expect(batches).toEqual([['0', '1'], ['2', '3'], ['4']]);
    expect(clock.sleeps).toEqual([]);
  });

  it('cuts the same batches however the records are chunked', async () => {
    const offsets = [0, 0, 0, 1000, 1000, 3000, 3000, 3001];
    const run = async (chunk: number) => {
      const clock = new FakeClock();
      const opts = { batchSize: 2, speed: 2, maxPauseMs: 10_000, signal: new AbortController().signal, clock };
      return { batches: await collect(pacedBatches(items(offsets, chunk), opts)), sleeps: clock.sleeps };
    };
    const one = await run(1);
    expect(one.batches).toEqual([['0', '1'], ['2'], ['3', '4'], ['5', '6'], ['7']]);
    for (const chunk of [3, 8]) expect(await run(chunk)).toEqual(one);
  });

  it('stops when the signal aborts', async () => {
    const ac = new AbortController();
    const seen: string[][] = [];
    for await (const b of pacedBatches(items([0, 1, 2, 3, 4, 5]), {
      batchSize: 2,
      speed: 0,
      maxPauseMs: 0,
      signal: ac.signal,
    })) {
      seen.push(b.map((r) => String(r.value)));
      ac.abort();
    }
    expect(seen).toEqual([['0', '1']]);
  });
});
