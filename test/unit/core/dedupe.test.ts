import { describe, expect, it } from 'vitest';
import { Deduper } from '../../../core/dedupe.ts';
import { SeededRandom } from '../../../core/seeded-random.ts';

describe('Deduper', () => {
  it('flags a repeated id as a duplicate, whatever its timestamp', () => {
    const d = new Deduper({ capacity: 10, windowUs: 1000 });
    expect(d.seen('a', 100)).toBe(false);
    expect(d.seen('b', 100)).toBe(false);
    expect(d.seen('a', 100)).toBe(true);
    expect(d.seen('a', 150)).toBe(true);
    expect(d.size).toBe(2);
  });

  it('remembers only ids within windowUs of the newest event time (inclusive bound)', () => {
    const d = new Deduper({ capacity: 10, windowUs: 1000 });
    d.seen('a', 0);
    d.seen('b', 500);
    d.seen('c', 1000); // cutoff 0: a (ts 0) is still inside
    expect(d.seen('a', 0)).toBe(true);
    d.seen('d', 1001); // cutoff 1: a is forgotten
    expect(d.size).toBe(3);
    expect(d.seen('a', 0)).toBe(false); // too old to remember: reported new and not stored
    expect(d.size).toBe(3);
    expect(d.seen('b', 500)).toBe(true);
    d.seen('e', 1600); // cutoff 600: b goes
    expect(d.seen('b', 500)).toBe(false);
    expect(d.newestTs).toBe(1600);
  });

  it('keeps out-of-order ids that are still inside the window', () => {
    const d = new Deduper({ capacity: 10, windowUs: 1000 });
    d.seen('late', 900);
    d.seen('new', 1500);
    d.seen('older', 600); // arrives after 'new' but within [500, 1500]
    expect(d.seen('older', 600)).toBe(true);
    expect(d.seen('late', 900)).toBe(true);
  });

  it('at capacity forgets the id with the oldest event time, then the earliest arrival', () => {
    const d = new Deduper({ capacity: 3, windowUs: 1_000_000 });
    d.seen('t50', 50);
    d.seen('t10', 10);
    d.seen('t30', 30);
    d.seen('t40', 40); // evicts t10, though t50 arrived first
    expect(d.size).toBe(3);
    expect(d.seen('t50', 50)).toBe(true);
    expect(d.seen('t30', 30)).toBe(true);
    expect(d.seen('t40', 40)).toBe(true);
    // Forgotten, so new again; being older than everything held, it is itself the one evicted.
    expect(d.seen('t10', 10)).toBe(false);
    expect(d.seen('t10', 10)).toBe(false);
    expect(d.seen('t30', 30)).toBe(true);
    expect(d.seen('t60', 60)).toBe(false); // evicts t30
    expect(d.seen('t30', 30)).toBe(false);

    const tie = new Deduper({ capacity: 2, windowUs: 1_000_000 });
    tie.seen('first', 5);
    tie.seen('second', 5);
    tie.seen('third', 5);
    expect(tie.seen('second', 5)).toBe(true);
    expect(tie.seen('third', 5)).toBe(true);
    expect(tie.seen('first', 5)).toBe(false);
  });

  it('never holds more than capacity ids', () => {
    const rng = new SeededRandom(11);
    const d = new Deduper({ capacity: 100, windowUs: 1_000_000_000 });
    for (let i = 0; i < 5000; i++) {
      d.seen(`id${rng.int(400)}`, rng.int(10_000));
      expect(d.size).toBeLessThanOrEqual(100);
    }
  });

  it('continues identically after snapshot -> JSON -> restore at any point', () => {
    const rng = new SeededRandom(21);
    const stream = Array.from({ length: 3000 }, (_, i) => ({ id: `id${rng.int(800)}`, ts: i * 10 - rng.int(3000) }));
    const options = { capacity: 300, windowUs: 4000 };
    const reference = new Deduper(options);
    const expected = stream.map((e) => reference.seen(e.id, e.ts));
    expect(expected.filter(Boolean).length).toBeGreaterThan(100);
    for (const cut of [0, 1, 777, 1500, 2999]) {
      let d = new Deduper(options);
      const got = stream.map((e, i) => {
        if (i === cut) d = Deduper.restore(JSON.parse(JSON.stringify(d.snapshot())));
        return d.seen(e.id, e.ts);
      });
      expect(got).toEqual(expected);
    }
  });

  it('snapshots plain JSON in eviction order and rejects a malformed one', () => {
    const d = new Deduper({ capacity: 5, windowUs: 100 });
    d.seen('b', 20);
    d.seen('a', 10);
    d.seen('c', 20);
    expect(d.snapshot()).toEqual({
      v: 1,
      capacity: 5,
      windowUs: 100,
      newestTs: 20,
      entries: [
        ['a', 10],
        ['b', 20],
        ['c', 20],
      ],
    });
    expect(new Deduper().snapshot().newestTs).toBeNull();
    expect(() => Deduper.restore({ v: 1, capacity: 0, windowUs: 1, newestTs: null, entries: [] })).toThrow();
    expect(() => Deduper.restore({ entries: 'x' })).toThrow();
  });
});
