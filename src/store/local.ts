/**
 * LocalBackend: the store as a directory tree, one file per key ("bricks/ab/<sha>" is the file
 * <dir>/bricks/ab/<sha>). Owns atomic, durable writes (temp file, fsync, rename or link, fsync
 * directory), private permissions (files 0600, directories 0700: the store holds key material),
 * and the mapping of file-system errors onto the typed store errors.
 */
import { randomBytes } from 'node:crypto';
import { link, open, opendir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { BackendError, errnoCode, escapeName, NotFoundError, ObjectExistsError } from '../errors';
import { makeDirs } from '../fs/make-dirs';
import { trackTemp, untrackTemp } from '../fs/temp-files';
import type { Backend, ByteRange, ObjectInfo, PutBody, PutOptions, WholeObject } from './backend';
import { describeFault, tooLong } from './errors';
import { lengthBound, rangeOf, TEMP_PREFIX, validateKey, validatePrefix } from './keys';

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** Errors meaning "there is no object under this key". */
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/** Read handles kept open for ranged reads. */
const MAX_READ_HANDLES = 16;

/** Closes a kept read handle; one that failed to open, or to close, needs nothing more. */
function closeHandle(h: { fh: Promise<FileHandle> }): Promise<void> {
  return h.fh.then((f) => f.close()).catch(() => undefined);
}

export class LocalBackend implements Backend {
  readonly location: string;
  readonly cheapRanges = true;
  private readonly root: string;
  private readonly handles = new Map<string, { fh: Promise<FileHandle>; users: number }>();

  /** `location` is what messages show (e.g. the file:// URL the user gave); defaults to dir. */
  constructor(dir: string, location: string = dir) {
    this.root = path.resolve(dir);
    this.location = location;
  }

  async put(key: string, body: PutBody, options: PutOptions = {}): Promise<void> {
    validateKey(key);
    const final = this.file(key);
    void this.dropHandle(key);
    const dir = path.dirname(final);
    const temp = path.join(dir, TEMP_PREFIX + randomBytes(8).toString('hex'));
    // An interrupted ingest must not leave a partial brick behind under its temporary name.
    trackTemp(temp);
    try {
      const fh = await this.createTemp(temp, dir);
      try {
        await writeAll(fh, body instanceof Uint8Array ? [body] : typeof body === 'function' ? body() : body);
        await fh.sync();
      } finally {
        await fh.close();
      }
      if (options.ifAbsent) {
        // link() fails when the name exists, so of concurrent writers exactly one wins;
        // rename() would silently replace.
        await link(temp, final);
        await unlink(temp);
      } else {
        await rename(temp, final);
      }
      untrackTemp(temp);
      await fsyncDir(dir);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      untrackTemp(temp);
      if (options.ifAbsent && errnoCode(err) === 'EEXIST') throw new ObjectExistsError(key);
      throw this.fail('put', key, err);
    }
  }

  /**
   * A range reaching past the end of the object yields the bytes that exist (possibly none),
   * as S3 does; callers that need an exact length check it.
   */
  async get(key: string, want: ByteRange | WholeObject, into?: Buffer): Promise<Buffer> {
    validateKey(key);
    const range = rangeOf(want);
    try {
      if (!range) return await this.readWhole(key, lengthBound(want));
      return await this.withReadHandle(key, async (fh) => {
        // Memory the caller recycles is warm; a fresh buffer's pages fault in as they are filled.
        const buf = into && into.length >= range.length ? into : Buffer.allocUnsafe(range.length);
        let filled = 0;
        while (filled < range.length) {
          const { bytesRead } = await fh.read(buf, filled, range.length - filled, range.offset + filled);
          if (bytesRead === 0) break; // end of file
          filled += bytesRead;
        }
        return buf.subarray(0, filled);
      });
    } catch (err) {
      if (ABSENT.has(errnoCode(err) ?? '')) throw new NotFoundError(key);
      throw this.fail('get', key, err);
    }
  }

  /** A whole file, refused without reading when it is longer than `maxLength`. */
  private async readWhole(key: string, maxLength: number): Promise<Buffer> {
    const fh = await open(this.file(key), 'r');
    try {
      const { size } = await fh.stat();
      if (size > maxLength) throw tooLong(maxLength);
      const buf = Buffer.allocUnsafe(size);
      let filled = 0;
      while (filled < size) {
        const { bytesRead } = await fh.read(buf, filled, size - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return buf.subarray(0, filled);
    } finally {
      await fh.close();
    }
  }

  /**
   * Ranged reads (restore, mount) come many to a brick: keep a few read handles open rather
   * than paying open and close per chunk. Safe because objects never change in place; a
   * put or delete of the key drops its handle.
   */
  private async withReadHandle<T>(key: string, fn: (fh: FileHandle) => Promise<T>): Promise<T> {
    let h = this.handles.get(key);
    if (!h) {
      const opened = open(this.file(key), 'r');
      opened.catch(() => undefined);
      h = { fh: opened, users: 0 };
      this.handles.set(key, h);
    } else {
      this.handles.delete(key); // most recently used last
      this.handles.set(key, h);
    }
    h.users++;
    // Only now, with this read counted: evicting first could close the handle it is about to use.
    this.evictIdle();
    try {
      return await fn(await h.fh);
    } catch (e) {
      if (this.handles.get(key) === h) this.handles.delete(key);
      throw e;
    } finally {
      h.users--;
      if (h.users === 0 && this.handles.get(key) !== h) void closeHandle(h);
    }
  }

  private evictIdle(): void {
    for (const [key, h] of this.handles) {
      if (this.handles.size <= MAX_READ_HANDLES) return;
      if (h.users > 0) continue;
      this.handles.delete(key);
      void closeHandle(h);
    }
  }

  /** Forgets the key's handle; it is closed now if idle, else when its last read ends. */
  private dropHandle(key: string): Promise<void> {
    const h = this.handles.get(key);
    if (!h) return Promise.resolve();
    this.handles.delete(key);
    return h.users === 0 ? closeHandle(h) : Promise.resolve();
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    validateKey(key);
    try {
      const st = await stat(this.file(key));
      return st.isFile() ? { key, size: st.size, modified: st.mtime } : null;
    } catch (err) {
      if (ABSENT.has(errnoCode(err) ?? '')) return null;
      throw this.fail('stat', key, err);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    // Start at the deepest directory the prefix names, then filter on the full prefix.
    const base = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    yield* this.walk(base, prefix);
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    void this.dropHandle(key);
    try {
      await unlink(this.file(key));
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw this.fail('delete', key, err);
    }
  }

  /** Nothing is ever archived on a local disk; a missing key is still an error, as on S3. */
  async requestRestore(key: string): Promise<'not-archived'> {
    if ((await this.stat(key)) === null) throw new NotFoundError(key);
    return 'not-archived';
  }

  async close(): Promise<void> {
    await Promise.all([...this.handles.keys()].map((key) => this.dropHandle(key)));
  }

  private file(key: string): string {
    return path.join(this.root, ...key.split('/'));
  }

  /** Opens a new temp file, creating missing parent directories on first failure. */
  private async createTemp(temp: string, dir: string): Promise<FileHandle> {
    try {
      return await open(temp, 'wx', FILE_MODE);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    const first = await makeDirs(dir, DIR_MODE);
    if (first !== undefined) {
      // New directories are durable only once their parents' entries are synced.
      for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
        await fsyncDir(path.dirname(d));
        if (d === first) break;
      }
    }
    return await open(temp, 'wx', FILE_MODE);
  }

  /** Walks the directory of key prefix `base` ('' or ending in '/'), yielding the keys under `prefix`. */
  private async *walk(base: string, prefix: string): AsyncIterable<ObjectInfo> {
    let dir;
    try {
      dir = await opendir(path.join(this.root, ...base.split('/').filter((s) => s !== '')));
    } catch (err) {
      if (ABSENT.has(errnoCode(err) ?? '')) return; // nothing stored there (yet)
      throw this.fail('list', prefix, err);
    }
    for await (const entry of dir) {
      if (entry.name.startsWith(TEMP_PREFIX)) continue;
      const key = base + entry.name;
      if (entry.isDirectory()) {
        const sub = key + '/';
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) yield* this.walk(sub, prefix);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        try {
          const st = await stat(path.join(dir.path, entry.name));
          yield { key, size: st.size, modified: st.mtime };
        } catch (err) {
          if (errnoCode(err) !== 'ENOENT') throw this.fail('list', prefix, err); // else deleted since readdir
        }
      }
    }
  }

  private fail(op: string, key: string, err: unknown): BackendError {
    return new BackendError(`local store ${escapeName(this.location)}: ${op} ${key}: ${describeFault(err)}`, { cause: err });
  }
}

/** Pieces gathered into one writev(2): a brick of small files is thousands of pieces, and a system call each cost more than the rest of the write. */
const GATHER_PIECES = 1024;
const GATHER_BYTES = 8 * 1024 * 1024;

async function writeAll(fh: FileHandle, body: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
  let gathered: Uint8Array[] = [];
  let bytes = 0;
  for await (const piece of body) {
    if (piece.length === 0) continue;
    gathered.push(piece);
    bytes += piece.length;
    if (gathered.length >= GATHER_PIECES || bytes >= GATHER_BYTES) {
      await writeGathered(fh, gathered, bytes);
      gathered = [];
      bytes = 0;
    }
  }
  await writeGathered(fh, gathered, bytes);
}

async function writeGathered(fh: FileHandle, pieces: Uint8Array[], bytes: number): Promise<void> {
  while (bytes > 0) {
    const written = (await fh.writev(pieces)).bytesWritten;
    bytes -= written;
    if (bytes > 0) pieces = dropFront(pieces, written);
  }
}

/** `pieces` without their first `n` bytes (after a short write). */
export function dropFront(pieces: Uint8Array[], n: number): Uint8Array[] {
  let i = 0;
  while (n >= pieces[i]!.length) n -= pieces[i++]!.length;
  return [pieces[i]!.subarray(n), ...pieces.slice(i + 1)];
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
