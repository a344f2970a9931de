/**
 * Publishing a file atomically: written under a temporary name beside its destination,
 * fsynced, then renamed, so that a reader never sees half a file under the final name.
 * Devices and FIFOs are written in place (see isSpecialFile).
 */
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstat, open, readlink, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { systemErrorReason, UsageError } from '../errors';
import { trackTemp, untrackTemp } from './temp-files';

export interface TempFile {
  path: string;
  handle: FileHandle;
  /** Renames into place (or, with no destination, leaves it for the caller) and syncs. */
  publish(): Promise<void>;
  discard(): Promise<void>;
}

/**
 * True when `path` is an existing device, FIFO or socket (`-o /dev/null`, `-o >(...)`): it is
 * written as it is. Renaming a temporary file over it would replace it: as root, a restore
 * to /dev/null once turned /dev/null into a regular file.
 */
export async function isSpecialFile(path: string): Promise<boolean> {
  return isSpecial(await stat(path).catch(() => null));
}

function isSpecial(st: Stats | null): boolean {
  return st !== null && !st.isFile() && !st.isDirectory();
}

/** Where `path` leads through symbolic links (dangling ones too: their target is created). */
async function linkTarget(path: string): Promise<string> {
  for (let hops = 0; hops < 40; hops++) {
    const st = await lstat(path).catch(() => null);
    if (!st?.isSymbolicLink()) return path;
    path = resolve(dirname(path), await readlink(path));
  }
  throw new UsageError(`${path}: too many levels of symbolic links`);
}

/** The file itself, opened for writing, for a destination that must not be replaced. */
async function directOutput(destination: string): Promise<TempFile> {
  const handle = await open(destination, 'w');
  return { path: destination, handle, publish: () => handle.close(), discard: () => handle.close().catch(() => undefined) };
}

/**
 * Where an output is written until it is complete: beside `destination` (whose symbolic
 * link, if it is one, is followed, so the file it points to is replaced and the link stays),
 * in the temporary directory when there is none, or, for a device or FIFO, the destination
 * itself.
 */
export async function tempFileFor(destination: string | null): Promise<TempFile> {
  if (destination !== null) {
    const st = await stat(destination).catch(() => null);
    if (st?.isDirectory()) throw new UsageError(`${destination} is a directory: give a file name`);
    if (isSpecial(st)) return directOutput(destination);
    destination = await linkTarget(destination);
  }
  const dir = destination ? dirname(destination) : tmpdir();
  const path = join(dir, `.${destination ? basename(destination) : 'dtar-index'}.${randomBytes(6).toString('hex')}.tmp`);
  // Tracked before it exists: a signal that comes once the file is there must find it listed.
  trackTemp(path);
  const handle = await open(path, 'wx+', 0o600).catch((e: unknown) => {
    untrackTemp(path);
    // The temporary name would only puzzle: name the file asked for.
    const reason = systemErrorReason(e);
    throw reason === null ? e : new UsageError(`cannot write ${destination ?? path}: ${reason}`);
  });
  let closed = false;
  const close = async (): Promise<void> => {
    if (!closed) {
      closed = true;
      await handle.close();
    }
  };
  return {
    path,
    handle,
    async publish() {
      await handle.sync();
      await close();
      if (destination) {
        await rename(path, destination);
        untrackTemp(path);
        const d = await open(dirname(destination), 'r');
        try {
          await d.sync();
        } finally {
          await d.close();
        }
      }
    },
    async discard() {
      await close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      untrackTemp(path);
    },
  };
}

/** Writes `destination` through a temporary file (`write` fills it), published only once `write` is done. */
export async function writeOutputFile(destination: string, write: (handle: FileHandle) => Promise<unknown>): Promise<void> {
  const tmp = await tempFileFor(destination);
  try {
    await write(tmp.handle);
    await tmp.publish();
  } catch (e) {
    await tmp.discard();
    throw e;
  }
}
