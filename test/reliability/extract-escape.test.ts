/**
 * Symlink tricks test/extract/hostile.test.ts does not try: a directory entry made through a
 * symlink the archive created, a hard link to such a symlink used as a directory, and a
 * directory turned into a symlink by a later entry before files are written "into" it.
 * Nothing may appear outside the target directory; refusals are one line each, exit 2.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { dir, extractCrafted, Extracted, file, hardlink, symlink } from '../support/crafted';
import { dtar, testStore, type TestStore } from '../support/dtar';

let tmp: TestStore;
let env: NodeJS.ProcessEnv;
before(async () => {
  tmp = await testStore('pw');
  env = tmp.env;
  assert.equal((await dtar(['init'], { env, inProcess: true })).code, 0);
});
after(() => tmp.cleanup());

/** Ingests a crafted tar, extracts it into box/target; returns the result and what appeared beside target. */
const extract = (label: string, members: Buffer[]): Promise<Extracted> => extractCrafted(env, tmp.dir, label, members);

function assertRefusedInLines(stderr: string): void {
  for (const line of stderr.split('\n').filter((l) => l !== '')) assert.match(line, /^dtar: /);
  assert.doesNotMatch(stderr, /internal error|\n\s+at /);
}

test('a directory entry through an archive symlink is not created outside', async () => {
  const r = await extract('mkdir-through', [symlink('esc', '..'), dir('esc/made-outside/'), file('esc/made-outside/f.txt', 'x')]);
  assert.equal(r.code, 2, r.stderr);
  assertRefusedInLines(r.stderr);
  assert.deepEqual(r.outside, []);
});

test('a hard link to an archive symlink, used as a directory, writes nothing outside', async () => {
  const r = await extract('hardlink-to-symlink', [symlink('esc', '..'), hardlink('h', 'esc'), file('h/through-hardlink.txt', 'x')]);
  assert.notEqual(r.code, 0);
  assertRefusedInLines(r.stderr);
  assert.deepEqual(r.outside, []);
});

test('a directory replaced by a symlink before files go into it writes nothing outside', async () => {
  const r = await extract('dir-then-symlink', [dir('d/'), symlink('d', '..'), file('d/after.txt', 'x')]);
  assert.notEqual(r.code, 0);
  assertRefusedInLines(r.stderr);
  assert.deepEqual(r.outside, []);
});
