/**
 * Every store and index written before a format's version went up still reads: a store, key
 * file, indexes and index copies written by the dtar of commit 97994cb (test/fixtures/format-v1,
 * whose README says how), used through the real CLI.
 */
import assert from 'node:assert/strict';
import { cp, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dtar, ok, testStore, type TestStore } from '../support/dtar';

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

  test('the version 1 key file opens the store and restores both indexes byte for byte', async () => {
    for (const n of [1, 2]) {
      const r = ok(await dtar(['restore', index(n)], { env: s.env }), `restore old-${n}`);
      assert.ok(r.stdout.equals(await original(n)), `old-${n} restores byte for byte`);
    }
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
