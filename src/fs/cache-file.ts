/**
 * A file of the local cache (catalogue segments, stored index copies, sealed chunks, loaded
 * trees): written under a temporary name and renamed, so that a reader finds a whole file or
 * none. Not synced: a cache file lost in a crash only costs a download or a parse. The cache
 * holds sealed bytes only, but its names tell what the store holds: directories 0700, files
 * 0600.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { makeDirs } from './make-dirs';

/** Writes `data` (or what `data` writes through the handle) to `path`; fails as the file system does, leaving no temporary file. */
export async function writeCacheFile(path: string, data: Uint8Array | ((file: FileHandle) => Promise<void>)): Promise<void> {
  await makeDirs(dirname(path), 0o700);
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const file = await open(tmp, 'wx', 0o600);
    try {
      if (typeof data === 'function') await data(file);
      else await file.writeFile(data);
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}
