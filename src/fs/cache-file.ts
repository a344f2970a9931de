/**
 * Writing a file of the cache directory: whole or not at all (a temporary file renamed into
 * place, so that a reader never sees half of one), private (directories 0700, files 0600).
 * A cache that cannot be written only costs work next time, so failures are swallowed.
 */
import { rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { makeDirs } from './make-dirs';

export async function writeCacheFile(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await makeDirs(dirname(path), 0o700);
    await writeFile(tmp, bytes, { mode: 0o600 });
    await rename(tmp, path);
  } catch {
    await unlink(tmp).catch(() => undefined);
  }
}
