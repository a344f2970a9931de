/**
 * `mkdir -p` for every local directory dtar creates (stores, caches, extraction targets).
 * Not Node's `mkdir(path, { recursive: true })`: where mkdir answers ENOENT although the
 * parent exists (under /proc, for one), Node 20's recursive mkdir retries forever, and
 * `dtar init --store /proc/1/store` hung at full CPU instead of failing.
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errnoCode } from '../errors';

/** mkdir's EEXIST is success when what exists is a directory (made meanwhile, or before). */
async function existsAsDirectory(e: unknown, path: string): Promise<boolean> {
  return errnoCode(e) === 'EEXIST' && (await stat(path).catch(() => null))?.isDirectory() === true;
}

/**
 * Creates `path` and any missing parents with `mode` (before the umask). Resolves with the
 * first directory it created, or undefined when `path` was already a directory, as Node's
 * recursive mkdir does; fails as mkdir does otherwise (EEXIST for a file in the way).
 */
export async function makeDirs(path: string, mode = 0o777): Promise<string | undefined> {
  const parent = dirname(path);
  try {
    await mkdir(path, { mode });
    return path;
  } catch (e) {
    if (await existsAsDirectory(e, path)) return undefined;
    if (errnoCode(e) !== 'ENOENT' || parent === path) throw e;
  }
  const first = await makeDirs(parent, mode);
  try {
    await mkdir(path, { mode }); // once: an ENOENT now is the answer, not a reason to retry
  } catch (e) {
    if (!(await existsAsDirectory(e, path))) throw e;
  }
  return first ?? path;
}
