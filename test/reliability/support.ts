/**
 * Helpers shared by the reliability and fuzz tests: a seeded PRNG (every random choice is
 * reproducible from a printed seed), tar files of random data, a look at a local store's
 * objects as they lie on disk (is everything under a final name complete?), a child dtar
 * that can be killed, and the "one clean line" check for error messages.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { decodeSegment } from '../../src/catalogue/segment';
import { Repository } from '../../src/repo/repository';
import { LocalBackend } from '../../src/store/local';
import { TEMP_PREFIX } from '../../src/store/keys';
import { DTAR_ARGV, type DtarResult } from '../support/dtar';

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

/** Writes `dirs` (name -> file sizes) of random bytes under `root/src` and tars them; returns the tar. */
export async function randomTar(root: string, dirs: Record<string, number[]>, name = 'input.tar'): Promise<string> {
  const src = join(root, `src-${name}`);
  for (const [dir, sizes] of Object.entries(dirs)) {
    await mkdir(join(src, dir), { recursive: true });
    for (let i = 0; i < sizes.length; i++) await writeFile(join(src, dir, `f${i}`), randomBytes(sizes[i]!));
  }
  const tar = join(root, name);
  await run('tar', ['-C', src, '--sort=name', '--format=posix', '-cf', tar, ...Object.keys(dirs)]);
  return tar;
}

/** Every file under `dir`, as paths relative to it. */
export async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  const go = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const e of entries) {
      if (e.isDirectory()) await go(join(d, e.name));
      else out.push(relative(dir, join(d, e.name)));
    }
  };
  await go(dir);
  return out.sort();
}

export interface StoreLook {
  bricks: string[];
  segments: string[];
  indexes: string[];
  temps: string[];
}

/**
 * Checks that every object under a final name in a local store is complete: each brick's
 * SHA-256 is its name, each catalogue segment authenticates and decodes. Temp files
 * (`.tmp-*`) are listed apart: they are not objects.
 */
export async function checkStoreObjects(store: string, passphrase: string): Promise<StoreLook> {
  const look: StoreLook = { bricks: [], segments: [], indexes: [], temps: [] };
  for (const f of await walk(store)) {
    const base = f.split('/').at(-1)!;
    if (base.startsWith(TEMP_PREFIX)) look.temps.push(f);
    else if (f.startsWith('bricks/')) look.bricks.push(f);
    else if (f.startsWith('catalogue/')) look.segments.push(f);
    else if (f.startsWith('indexes/')) look.indexes.push(f);
  }
  for (const b of look.bricks) {
    const name = b.split('/').at(-1)!;
    const sha = createHash('sha256').update(await readFile(join(store, b))).digest('hex');
    assert.equal(sha, name, `brick ${b} is complete (its SHA-256 is its name)`);
    assert.equal(b.split('/')[1], name.slice(0, 2));
  }
  const repo = await Repository.open(new LocalBackend(store), passphrase, null);
  for (const s of look.segments) {
    const records = decodeSegment(repo.keys, await readFile(join(store, s)), s);
    for (const r of records) assert.ok(look.bricks.includes(`bricks/${r.id.toString('hex').slice(0, 2)}/${r.id.toString('hex')}`), `segment ${s} names only stored bricks`);
  }
  return look;
}

/** A dtar child that can be killed; `done` resolves when it has exited. */
export interface Running {
  child: ChildProcess;
  done: Promise<DtarResult & { signal: NodeJS.Signals | null }>;
}

export function spawnDtar(args: string[], env: NodeJS.ProcessEnv, stdin?: Buffer): Running {
  const child = spawn(process.execPath, [...DTAR_ARGV, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (b: Buffer) => out.push(b));
  child.stderr!.on('data', (b: Buffer) => err.push(b));
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(stdin);
  const done = new Promise<DtarResult & { signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const stderrBytes = Buffer.concat(err);
      resolve({ code: code ?? -1, signal, stdout: Buffer.concat(out), stderr: stderrBytes.toString('utf8'), stderrBytes });
    });
  });
  return { child, done };
}

/** Runs dtar with a time limit: a hang is a failure, and the child is killed. */
export async function dtarWithin(ms: number, args: string[], env: NodeJS.ProcessEnv, stdin?: Buffer): Promise<DtarResult & { timedOut: boolean }> {
  const r = spawnDtar(args, env, stdin);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    r.child.kill('SIGKILL');
  }, ms);
  try {
    return { ...(await r.done), timedOut };
  } finally {
    clearTimeout(timer);
  }
}

/** An error as dtar promises to report it: exactly one line "dtar: ...", no stack trace. */
export function assertOneLineError(r: DtarResult, code: number, pattern?: RegExp, what = 'dtar'): void {
  assert.equal(r.code, code, `${what}: exit code ${code} expected, got ${r.code}: ${r.stderr}`);
  assert.match(r.stderr, /^dtar: [^\n]+\n$/, `${what}: one line on stderr, got ${JSON.stringify(r.stderr)}`);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at |Error:/, `${what}: no stack trace or internal error`);
  if (pattern) assert.match(r.stderr, pattern, what);
}

/** Flips one bit of the byte at `offset` of a file. */
export async function flipByte(file: string, offset: number): Promise<void> {
  const b = await readFile(file);
  b[offset] = b[offset]! ^ 0x01;
  await writeFile(file, b);
}
