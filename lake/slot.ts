import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { TickLakeError } from '../core/errors.ts';
import type { Storage } from './storage/storage.ts';

/**
 * Deciding, once and for all, which of several competing values a numbered slot (a snapshot number) holds.
 *
 * With a store whose create-if-absent is atomic, the decision is that create. Without one (versitygw 1.7
 * accepts `If-None-Match: *` but lets two racing writers both succeed), this runs Disk Paxos (Gafni & Lamport)
 * with the store as the one "disk": every proposer writes only its own block key
 * `<blockPrefix><proposer>.json` and reads everyone's. Safety needs only that a completed PUT is visible to
 * later GETs and LISTs (S3's strong read-after-write consistency) and that single-writer keys are replaced
 * atomically; no clocks. Liveness (someone eventually wins) comes from randomized backoff.
 *
 * Whoever learns the decision publishes it at `finalKey` with a plain PUT: every learner writes the same bytes.
 */
interface Ballot {
  n: number;
  id: string;
}

const blockSchema = z.object({
  mbal: z.object({ n: z.number(), id: z.string() }),
  bal: z.object({ n: z.number(), id: z.string() }).nullable(),
  val: z.string().nullable(),
});
type Block = z.infer<typeof blockSchema>;

function cmp(a: Ballot, b: Ballot): number {
  return a.n !== b.n ? a.n - b.n : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export interface SlotDecision {
  /** True when the decided value is the one this call proposed. */
  won: boolean;
  value: string;
}

export interface SlotKeys {
  /** Where the decided value is published. */
  finalKey: string;
  /** Folder of the proposers' blocks for this slot (ends in '/'). */
  blockPrefix: string;
}

export interface DecideOptions {
  /** Gives up (retryable error) after this many ballots. */
  maxBallots?: number;
  proposerId?: string;
}

const decoder = new TextDecoder();

export async function decideSlot(
  storage: Storage,
  slot: SlotKeys,
  proposal: string,
  opts: DecideOptions = {},
): Promise<SlotDecision> {
  const { finalKey } = slot;
  if (storage.atomicPutIfAbsent) {
    if (await storage.putIfAbsent(finalKey, proposal)) return { won: true, value: proposal };
    const existing = await storage.get(finalKey);
    if (existing === null) throw new TickLakeError('UPSTREAM_UNAVAILABLE', `slot ${finalKey} vanished while read`);
    return { won: false, value: decoder.decode(existing) };
  }
  return paxos(storage, slot, proposal, opts);
}

async function paxos(storage: Storage, slot: SlotKeys, proposal: string, opts: DecideOptions): Promise<SlotDecision> {
  const { finalKey, blockPrefix: dir } = slot;
  const id = opts.proposerId ?? `${Date.now().toString(36)}-${randomBytes(8).toString('hex')}`;
  const own = `${dir}${id}.json`;
  let bal: Ballot | null = null;
  let val: string | null = null;
  let n = 1;
  const maxBallots = opts.maxBallots ?? 50;

  for (let round = 0; round < maxBallots; round++) {
    const published = await storage.get(finalKey);
    if (published !== null) return settle(decoder.decode(published), proposal);

    const mbal: Ballot = { n, id };
    // Phase 1: announce the ballot, then look for higher ballots and for values already accepted.
    await writeBlock(storage, own, { mbal, bal, val });
    let others = await readOthers(storage, dir, own);
    let higher = others.find((b) => cmp(b.mbal, mbal) > 0);
    if (higher) {
      n = Math.max(n, ...others.map((b) => b.mbal.n)) + 1;
      await backoff(round);
      continue;
    }
    let best: { bal: Ballot; val: string } | null = bal && val !== null ? { bal, val } : null;
    for (const b of others) {
      if (b.bal && b.val !== null && (!best || cmp(b.bal, best.bal) > 0)) best = { bal: b.bal, val: b.val };
    }
    const v: string = best ? best.val : proposal;

    // Phase 2: accept v at this ballot; it is chosen unless someone started a higher ballot meanwhile.
    bal = mbal;
    val = v;
    await writeBlock(storage, own, { mbal, bal, val });
    others = await readOthers(storage, dir, own);
    higher = others.find((b) => cmp(b.mbal, mbal) > 0);
    if (higher) {
      n = Math.max(n, ...others.map((b) => b.mbal.n)) + 1;
      await backoff(round);
      continue;
    }
    await storage.put(finalKey, v);
    return settle(v, proposal);
  }
  throw new TickLakeError('UPSTREAM_UNAVAILABLE', `no decision for ${finalKey} after ${maxBallots} ballots`);
}

function settle(value: string, proposal: string): SlotDecision {
  return { won: value === proposal, value };
}

async function writeBlock(storage: Storage, key: string, block: Block): Promise<void> {
  await storage.put(key, JSON.stringify(block));
}

async function readOthers(storage: Storage, dir: string, own: string): Promise<Block[]> {
  const keys = (await storage.list(dir)).map((o) => o.key).filter((k) => k !== own && k.endsWith('.json'));
  const blocks: Block[] = [];
  for (const key of keys) {
    const bytes = await storage.get(key);
    if (bytes === null) continue; // deleted by expiry: that slot is long decided and published
    const parsed = blockSchema.safeParse(JSON.parse(decoder.decode(bytes)));
    if (!parsed.success) throw new TickLakeError('MANIFEST_CORRUPT', `corrupt paxos block ${key}`);
    blocks.push(parsed.data);
  }
  return blocks;
}

function backoff(round: number): Promise<void> {
  const ms = Math.min(500, 5 * 2 ** Math.min(round, 6)) * (0.5 + Math.random());
  return new Promise((r) => setTimeout(r, ms));
}
