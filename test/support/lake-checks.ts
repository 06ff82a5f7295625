import { expect } from 'vitest';
import { listSnapshotSeqs, loadSnapshot, snapshotFiles } from '../../lake/manifest.ts';
import { scanColumns } from '../../lake/reader.ts';
import type { Storage } from '../../lake/storage/storage.ts';
import type { TableDef } from '../../lake/tables.ts';

/**
 * After a fault: the table's latest snapshot references only objects that are stored with the recorded size. Returns
 * every stored row's id (duplicates included: sink files may hold a replay, a compacted partition must not) and how
 * many compactions (replace commits) the table's snapshots record.
 */
export async function expectConsistentLake(
  storage: Storage,
  def: TableDef,
): Promise<{ ids: string[]; replaceCommits: number }> {
  const snap = await loadSnapshot(storage, def.name);
  expect(snap).not.toBeNull();
  for (const f of await snapshotFiles(storage, snap!)) {
    expect((await storage.head(f.path))?.size, f.path).toBe(f.bytes);
  }
  const ids: string[] = [];
  for await (const c of scanColumns(storage, def, {})) ids.push(...(c.id as string[]));
  let replaceCommits = 0;
  for (const seq of await listSnapshotSeqs(storage, def.name)) {
    if ((await loadSnapshot(storage, def.name, seq))?.operation === 'replace') replaceCommits++;
  }
  return { ids, replaceCommits };
}
