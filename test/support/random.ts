/**
 * Random test data, reproducible where it matters: a seeded PRNG (a failing case replays
 * from its printed seed) and the one builder of tar files of random bytes.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** mulberry32: a small seeded PRNG; `next()` in [0, 1). */
export class Rng {
  private s: number;
  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

/** The seed for a test: $DTAR_SEED when set (to replay a failure), else a fresh one. */
export function seedFromEnv(): number {
  const s = process.env.DTAR_SEED;
  return s ? Number(s) >>> 0 : randomBytes(4).readUInt32LE(0);
}

/** Where randomTar(root, dirs, name) writes the files it tars. */
export function randomTarSource(root: string, name = 'input.tar'): string {
  return join(root, `src-${name}`);
}

/** Writes `dirs` (name -> files f0, f1, ... of the given sizes) of random bytes under randomTarSource and tars them (GNU tar, POSIX format); returns the tar. */
export async function randomTar(root: string, dirs: Record<string, number[]>, name = 'input.tar'): Promise<string> {
  const src = randomTarSource(root, name);
  for (const [dir, sizes] of Object.entries(dirs)) {
    await mkdir(join(src, dir), { recursive: true });
    for (let i = 0; i < sizes.length; i++) await writeFile(join(src, dir, `f${i}`), randomBytes(sizes[i]!));
  }
  const tar = join(root, name);
  await run('tar', ['-C', src, '--sort=name', '--format=posix', '-cf', tar, ...Object.keys(dirs)]);
  return tar;
}
