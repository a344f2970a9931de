/**
 * Every store and index written before a format's version went up still reads: a store, key
 * file, indexes and index copies written by the dtar of commit 97994cb (test/fixtures/format-v1,
 * whose README says how), used through the real CLI.
 */
import assert from 'node:assert/strict';
import { cp, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeFile } from 'node:fs/promises';
import { dtar, ok, testStore, type TestStore } from '../support/dtar';
import { parseIndex, reseal, setuidFirst } from '../support/forge';

const FIXTURE = resolve(__dirname, '../../../test/fixtures/format-v1');

describe('a store and indexes of format version 1', () => {
  let s: TestStore;
  const index = (n: number): string => join(FIXTURE, `old-${n}.index.tar`);
  const original = (n: number): Promise<Buffer> => readFile(join(FIXTURE, `old-${n}.tar`));

  before(async () => {
    s = await testStore('fixture');
    await cp(join(FIXTURE, 'store'), s.store, { recursive: true });
  });
  after(() => s.cleanup());

  const warning = (n: number): string => `dtar: ${index(n)} is not authenticated (written before index format 2): see "Old indexes" in docs/COMMANDS.md to replace it\n`;

  test('the version 1 key file opens the store; version 1 indexes restore byte for byte, with one warning line', async () => {
    for (const n of [1, 2]) {
      const r = ok(await dtar(['restore', index(n)], { env: s.env }), `restore old-${n}`);
      assert.ok(r.stdout.equals(await original(n)), `old-${n} restores byte for byte`);
      assert.equal(r.stderr, warning(n), 'one warning, although restore reads the index twice');
    }
    const listed = ok(await dtar(['ls', index(1)], { env: s.env }), 'ls');
    assert.equal(listed.stdout.toString(), 'd/\nd/b.bin\nd/l\nd/a.txt\n');
    assert.equal(listed.stderr, warning(1));
    const cat = ok(await dtar(['cat', index(2), 'd/c.txt'], { env: s.env }), 'cat');
    assert.equal(cat.stdout.toString(), 'second\n');
    ok(await dtar(['verify', '--read-data', index(1), index(2)], { env: s.env }), 'verify');
    // The store's own copies are authenticated by their sealing: no warning for them.
    assert.equal(ok(await dtar(['verify', '--read-data', '--quiet'], { env: s.env }), 'verify of the stored copies').stderr, '');
  });

  test('a stored copy of a version 1 index, named @ID, is read with no warning by every reader (its sealing authenticates it)', async () => {
    const ids = (await readdir(join(s.store, 'indexes'))).sort();
    const copies = await Promise.all([1, 2].map(original));
    for (const id of ids) {
      const r = ok(await dtar(['restore', `@${id}`], { env: s.env }), `restore @${id}`);
      assert.ok(copies.some((c) => c.equals(r.stdout)), `@${id} restores one of the original tars byte for byte`);
      assert.equal(r.stderr, '', `restore @${id}`);
      const to = join(s.dir, `x-${id}`);
      assert.equal(ok(await dtar(['extract', '--quiet', `@${id}`, '-C', to], { env: s.env }), `extract @${id}`).stderr, '', `extract @${id}`);
      assert.equal(ok(await dtar(['ls', `@${id}`], { env: s.env }), `ls @${id}`).stderr, '', `ls @${id}`);
    }
  });

  test('a rewritten version 1 index (no MAC) reads with the warning, and verify finds it differs from its copy', async () => {
    const bytes = await readFile(index(1));
    const parsed = await parseIndex(bytes);
    const forged = join(s.dir, 'forged-v1.idx');
    await writeFile(forged, reseal(parsed, setuidFirst(bytes, parsed)));
    const r = await dtar(['verify', forged], { env: s.env });
    assert.equal(r.code, 1, r.stderr);
    const copy = (await readdir(join(s.store, 'indexes'))).sort()[0]!;
    const at = Number(/from byte (\d+)/.exec(r.stdout.toString())?.[1]);
    assert.ok(at >= parsed.files[0]!.header + 100 && at < parsed.files[0]!.header + 108, `the difference is in the first file's mode field (byte ${at})`);
    assert.equal(r.stdout.toString(), `damaged index ${forged}: differs from its copy in the store from byte ${at}: bring the copy back with 'dtar archives get ${copy}'\n`);
    // The genuine one matches its copy (the other copy of the same name is another backup).
    ok(await dtar(['verify', index(1), index(2)], { env: s.env }), 'verify of the genuine indexes');
  });

  test('key passwd turns the version 1 key file into a version 2 one', async () => {
    const env = { ...s.env, DTAR_NEW_PASSWORD: 'fixture, renewed' };
    ok(await dtar(['key', 'passwd', '--quiet'], { env }), 'key passwd');
    const names = await readdir(join(s.store, 'keys'));
    assert.equal(names.length, 1);
    const file = JSON.parse(await readFile(join(s.store, 'keys', names[0]!), 'utf8')) as { version: number; kind: string };
    assert.deepEqual([file.version, file.kind], [2, 'owner']);
    const r = ok(await dtar(['restore', index(1)], { env: { ...s.env, DTAR_PASSWORD: 'fixture, renewed' } }), 'restore with the new passphrase');
    assert.ok(r.stdout.equals(await original(1)));
  });
});
