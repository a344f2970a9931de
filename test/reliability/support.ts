/**
 * Helpers shared by the reliability tests: a look at a local store's objects as they lie on
 * disk (is everything under a final name complete?), and the "one clean line" check for
 * error messages.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { decodeSegment } from '../../src/catalogue/segment';
import { Repository } from '../../src/repo/repository';
import { LocalBackend } from '../../src/store/local';
import { TEMP_PREFIX } from '../../src/store/keys';
import type { DtarResult } from '../support/dtar';

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
