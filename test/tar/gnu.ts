/**
 * What real GNU tar says of some bytes, for tests that hold the reader to it: `tar -tv` with
 * numeric owners, UTC times to the nanosecond and names as they are; its exit code and listing.
 * And the same line for a header dtar read, so the two compare as strings.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TarHeader } from '../../src/tar/types';
import { readAll, chunked } from './collect';

export interface GnuListing {
  /** tar's exit code: 0 when it read the archive without an error. */
  code: number;
  /** "uid/gid size date time name", one per entry. */
  lines: string[];
  stderr: string;
}

/** `tar -tv` of `bytes`, as GNU tar lists them. */
export async function gnuList(bytes: Buffer): Promise<GnuListing> {
  const dir = await mkdtemp(join(tmpdir(), 'dtar-gnu-'));
  try {
    const file = join(dir, 'a.tar');
    await writeFile(file, bytes);
    const args = ['-t', '-v', '--numeric-owner', '--full-time', '--utc', '--quoting-style=literal', '-f', file];
    return await new Promise((resolve) => {
      execFile('tar', args, { encoding: 'latin1', env: { PATH: process.env.PATH, LC_ALL: 'C' } }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        // The mode column is left out: dtar's listing of it is not what these tests compare.
        const lines = stdout.split('\n').filter((l) => l !== '').map((l) => l.replace(/^\S+ /, '').replace(/ +/g, ' '));
        resolve({ code, lines, stderr });
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** GNU tar's --full-time: seconds, and nanoseconds without trailing zeros when there are any. */
function fullTime(seconds: number): string {
  const whole = Math.floor(seconds);
  const date = new Date(whole * 1000).toISOString().slice(0, 19).replace('T', ' ');
  const nanos = Math.round((seconds - whole) * 1e9);
  return nanos === 0 ? date : `${date}.${String(nanos).padStart(9, '0').replace(/0+$/, '')}`;
}

/** The line `gnuList` gives for an entry dtar read with this header and size. */
export function listedLine(header: TarHeader, size: number): string {
  return `${header.uid}/${header.gid} ${size} ${fullTime(header.mtime)} ${header.pathBytes.toString('latin1')}`;
}

/** dtar's reader on `bytes`: the `gnuList` lines of its entries (it throws what the reader throws). */
export async function dtarList(bytes: Buffer): Promise<string[]> {
  const { items } = await readAll(chunked(bytes, 4096));
  return items.flatMap((i) => (i.header ? [listedLine(i.header, i.header.sparse?.realSize ?? i.bodySize ?? 0)] : []));
}
