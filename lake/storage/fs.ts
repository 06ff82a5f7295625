import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { bodyBytes, checkKey, checkRange, type ListOptions, type ObjectInfo, type Storage } from './storage.ts';

const TMP_MARK = '.tmp-';

/**
 * Objects as files under a root directory. Writes go to a temp file first: `put` renames it over the target
 * (atomic replace), `putIfAbsent` hard-links it to the target, which fails if the target exists (atomic create).
 */
export class FsStorage implements Storage {
  readonly atomicPutIfAbsent = true;
  readonly description: string;

  constructor(private readonly root: string) {
    this.description = `file:${root}`;
  }

  private path(key: string): string {
    return join(this.root, ...checkKey(key).split('/'));
  }

  private async writeTemp(key: string, body: Uint8Array | string): Promise<{ target: string; tmp: string }> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}${TMP_MARK}${randomBytes(6).toString('hex')}`;
    await writeFile(tmp, bodyBytes(body));
    return { target, tmp };
  }

  localPath(key: string): string {
    return this.path(key);
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      const buf = await readFile(this.path(key));
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'EISDIR')) return null;
      throw err;
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array | null> {
    checkRange(start, end);
    let file;
    try {
      file = await open(this.path(key), 'r');
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'EISDIR')) return null;
      throw err;
    }
    try {
      const buf = new Uint8Array(end - start);
      const { bytesRead } = await file.read(buf, 0, buf.length, start);
      return buf.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const { target, tmp } = await this.writeTemp(key, body);
    await rename(tmp, target);
  }

  async putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    const { target, tmp } = await this.writeTemp(key, body);
    try {
      await link(tmp, target);
      return true;
    } catch (err) {
      if (isCode(err, 'EEXIST')) return false;
      throw err;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const s = await stat(this.path(key));
      return s.isFile() ? { key, size: s.size, lastModified: s.mtime } : null;
    } catch (err) {
      if (isCode(err, 'ENOENT')) return null;
      throw err;
    }
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ObjectInfo[]> {
    // Walk only the deepest directory the prefix names, then filter on the full key.
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : '';
    const start = dirKey ? join(this.root, ...dirKey.split('/')) : this.root;
    const out: ObjectInfo[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return;
        throw err;
      }
      for (const e of entries) {
        const full = join(dir, e.name);
        if (e.isDirectory()) {
          await walk(full);
        } else if (e.isFile() && !e.name.includes(TMP_MARK)) {
          const key = relative(this.root, full).split(sep).join('/');
          if (!key.startsWith(prefix) || (opts.startAfter !== undefined && key <= opts.startAfter)) continue;
          const s = await stat(full).catch(() => null);
          if (s) out.push({ key, size: s.size, lastModified: s.mtime });
        }
      }
    };
    await walk(start);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    await unlink(this.path(key)).catch((err: unknown) => {
      if (!isCode(err, 'ENOENT')) throw err;
    });
  }
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
