/**
 * Wrong passphrase, wrong store, index from another store, no passphrase, not an index:
 * every command that opens a store or reads an index says so in one line on stderr, with
 * the documented exit code (2 usage/input, 3 store or key), no stack trace, nothing on
 * stdout, and nothing changed in the store.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dtar, ok, testStore, type TestStore } from '../support/dtar';
import { assertOneLineError, walk } from './support';
import { randomTar } from '../support/random';

describe('wrong passphrase, wrong store, foreign index', () => {
  let a: TestStore;
  let b: TestStore;
  let tar: string;
  let index: string;

  before(async () => {
    a = await testStore('passphrase of store A');
    b = await testStore('passphrase of store B');
    tar = await randomTar(a.dir, { d: [5000, 70_000] });
    index = join(a.dir, 'a.idx');
    ok(await dtar(['init', '--quiet'], { env: a.env }), 'init A');
    ok(await dtar(['init', '--quiet'], { env: b.env }), 'init B');
    ok(await dtar(['ingest', tar, '-o', index, '--quiet'], { env: a.env }), 'ingest');
  });
  after(async () => {
    await a.cleanup();
    await b.cleanup();
  });

  /** Commands that need the store's key, with the arguments they take here. */
  const keyed = (idx: string, out: string): string[][] => [
    ['restore', idx],
    ['cat', idx, 'd/f0'],
    ['extract', idx, '-C', out],
    ['verify', idx],
    ['ingest', tar, '-o', join(out, 'new.idx')],
    ['repair', '--dry-run'],
    ['archives'],
  ];

  test('a wrong passphrase: exit 3, "wrong passphrase", for every command', async () => {
    const before = await walk(a.store);
    const env = { ...a.env, DTAR_PASSWORD: 'not the passphrase' };
    for (const args of keyed(index, join(a.dir, 'out-wrong'))) {
      const r = await dtar(args, { env });
      assertOneLineError(r, 3, /^dtar: wrong passphrase: no key in this store opens with it\n$/, `dtar ${args[0]}`);
      assert.equal(r.stdout.length, 0, `dtar ${args[0]}: nothing on stdout`);
    }
    assert.deepEqual(await walk(a.store), before, 'the store is unchanged');
    await assert.rejects(readFile(join(a.dir, 'out-wrong', 'new.idx')));
  });

  test('no passphrase and no terminal: exit 2, saying how to give one', async () => {
    const env = { ...a.env };
    delete env.DTAR_PASSWORD;
    const r = await dtar(['restore', index], { env });
    assertOneLineError(r, 2, /no passphrase: set DTAR_PASSWORD_FILE or DTAR_PASSWORD/, 'restore');
    const missing = await dtar(['restore', index], { env: { ...env, DTAR_PASSWORD_FILE: join(a.dir, 'nope') } });
    assertOneLineError(missing, 2, /cannot read DTAR_PASSWORD_FILE .*nope: ENOENT/, 'restore');
  });

  test('--store pointing where there is no store: exit 3, naming the place and dtar init', async () => {
    const nowhere = join(a.dir, 'no-store-here');
    for (const args of keyed(index, join(a.dir, 'out-nowhere'))) {
      const r = await dtar([...args, '--store', nowhere], { env: a.env });
      assertOneLineError(r, 3, new RegExp(`^dtar: no dtar store at ${nowhere}; create one with 'dtar init --store ${nowhere}'\\n$`), `dtar ${args[0]}`);
    }
    await assert.rejects(readFile(join(nowhere, 'config')), 'nothing was created there');
  });

  test("an index used with another store (with that store's passphrase): exit 3, naming both stores", async () => {
    const env = { ...b.env };
    for (const args of keyed(index, join(b.dir, 'out-foreign')).filter((x) => x.includes(index))) {
      const r = await dtar(args, { env });
      assertOneLineError(r, 3, /belongs to store [0-9a-f]{8} \(.*\), not to the store opened \([0-9a-f]{8}\)(; give --store)?\n$/, `dtar ${args[0]}`);
      assert.equal(r.stdout.length, 0, `dtar ${args[0]}: nothing on stdout`);
    }
  });

  test("another store's passphrase on the index's own store: wrong passphrase", async () => {
    const env = { ...a.env, DTAR_PASSWORD: 'passphrase of store B' };
    assertOneLineError(await dtar(['restore', index], { env }), 3, /wrong passphrase/, 'restore');
  });

  test('the index finds its own store when none is given', async () => {
    const env = { ...a.env };
    delete env.DTAR_STORE;
    const back = ok(await dtar(['restore', index], { env }), 'restore').stdout;
    assert.ok(back.equals(await readFile(tar)));
  });

  test('a file that is not an index (the original tar, random bytes, nothing): exit 2', async () => {
    const junk = join(a.dir, 'junk.bin');
    await (await import('node:fs/promises')).writeFile(junk, Buffer.alloc(3000, 0x41));
    for (const file of [tar, junk, join(a.dir, 'absent.idx')]) {
      for (const cmd of [['restore', file], ['ls', file], ['cat', file, 'd/f0'], ['verify', file]]) {
        const r = await dtar(cmd, { env: a.env });
        assertOneLineError(r, 2, undefined, `dtar ${cmd[0]} ${file}`);
        assert.equal(r.stdout.length, 0);
      }
    }
  });
});
