import { afterEach, describe, expect, it } from 'vitest';
import { decideSlot } from '../../../lake/slot.ts';
import { NonAtomicStorage, tempStorage } from './fixtures.ts';

describe('slot decision', () => {
  let cleanup = async () => {};
  afterEach(() => cleanup());

  it.each([
    ['atomic create-if-absent', false],
    ['Disk Paxos on a store without it', true],
  ])('gives every one of 8 racing proposers the same single value (%s)', async (_name, nonAtomic) => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const storage = nonAtomic ? new NonAtomicStorage(t.storage) : t.storage;
    for (let slot = 0; slot < 3; slot++) {
      const keys = { finalKey: `s/${slot}.json`, blockPrefix: `p/${slot}/` };
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => decideSlot(storage, keys, `value-${slot}-${i}`)),
      );
      const values = new Set(results.map((r) => r.value));
      expect(values.size).toBe(1);
      expect(results.filter((r) => r.won)).toHaveLength(1);
      expect(new TextDecoder().decode((await t.storage.get(keys.finalKey))!)).toBe([...values][0]);
      // A latecomer learns the decided value instead of overriding it.
      const late = await decideSlot(storage, keys, 'late');
      expect(late).toEqual({ won: false, value: [...values][0] });
    }
  });

  it('a proposer that finds accepted-but-unpublished blocks completes that value, not its own', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const storage = new NonAtomicStorage(t.storage, 0);
    const keys = { finalKey: 's/x.json', blockPrefix: 'p/x/' };
    // A proposer that accepted "first" at ballot 1 and died before publishing.
    await t.storage.put(
      'p/x/dead.json',
      JSON.stringify({ mbal: { n: 1, id: 'dead' }, bal: { n: 1, id: 'dead' }, val: 'first' }),
    );
    const r = await decideSlot(storage, keys, 'second');
    expect(r).toEqual({ won: false, value: 'first' });
  });
});
