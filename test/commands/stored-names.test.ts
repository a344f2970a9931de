/**
 * `@NAME` and `@ID` in place of INDEX (issue 22): every command that takes an index reads
 * the archive's copy from the store, through the real CLI, with no local index left. The
 * copy is kept sealed in the cache directory (the same cache the whole-store mount uses);
 * a name or id that matches nothing, or an id prefix that matches several, is a one-line
 * usage error.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dtar, ok, testStore, TestStore } from '../support/dtar';
import { sh, startMount } from '../mount/fixture';

/** Cached sealed index copies (file names under <cache>/dtar/<store>/indexes). */
async function cachedCopies(t: TestStore): Promise<string[]> {
  const root = join(t.dir, 'cache', 'dtar');
  const found: string[] = [];
  for (const store of await readdir(root).catch(() => [])) found.push(...(await readdir(join(root, store, 'indexes')).catch(() => [])));
  return found.sort();
}

describe('@NAME and @ID name archives in the store', () => {
  let t: TestStore;
  let ids: string[];
  const run = (...args: string[]) => dtar(args, { env: t.env });
  const tar = (n: string): string => join(t.dir, `${n}.tar`);

  before(async () => {
    t = await testStore();
    ok(await run('init', '-q'), 'init');
    for (const [name, text] of [['home', 'first\n'], ['etc', 'box\n'], ['home', 'second\n']] as const) {
      const src = join(t.dir, 'src', `${name}-${text.trim()}`);
      await mkdir(join(src, 'dir'), { recursive: true });
      await writeFile(join(src, 'dir', 'file.txt'), text);
      await sh('tar', ['-cf', tar(`${name}-${text.trim()}`), '-C', src, '.']);
      const index = join(t.dir, 'x.idx');
      ok(await run('ingest', '-q', '--name', name, tar(`${name}-${text.trim()}`), '-o', index), `ingest ${name}`);
      await rm(index); // the store is the only source
      await new Promise((r) => setTimeout(r, 1100)); // distinct creation seconds: an order among the "home" archives
    }
    ids = (await readdir(join(t.store, 'indexes'))).sort();
    assert.equal(ids.length, 3);
  });

  after(async () => {
    await t?.cleanup();
  });

  test('restore @NAME is the newest archive of that name, @ID and a unique id prefix the one named', async () => {
    assert.deepEqual(ok(await run('restore', '@home'), 'restore @home').stdout, await readFile(tar('home-second')));
    assert.deepEqual(ok(await run('restore', `@${ids[0]}`), 'restore @ID').stdout, await readFile(tar('home-first')));
    // Ids start with their creation time: the random end tells apart copies of the same second.
    const prefix = ids[1]!.slice(0, ids[1]!.length - 4);
    assert.deepEqual(ok(await run('restore', `@${prefix}`), 'restore @prefix').stdout, await readFile(tar('etc-box')));
    // Fetched once, kept sealed in the cache (the file is the store's object as it is).
    assert.deepEqual(await cachedCopies(t), ids);
    assert.deepEqual(await readFile(join(t.dir, 'cache', 'dtar', (await readdir(join(t.dir, 'cache', 'dtar')))[0]!, 'indexes', ids[0]!)), await readFile(join(t.store, 'indexes', ids[0]!)));
  });

  test('ls, cat, extract, verify, stats and thaw take @NAME', async () => {
    assert.equal(ok(await run('ls', '@etc'), 'ls').stdout.toString(), './\n./dir/\n./dir/file.txt\n');
    assert.equal(ok(await run('cat', '@home', './dir/file.txt'), 'cat').stdout.toString(), 'second\n');
    const out = join(t.dir, 'out');
    ok(await run('extract', '-q', '@home', '-C', out), 'extract');
    assert.equal(await readFile(join(out, 'dir', 'file.txt'), 'utf8'), 'second\n');
    const verified = JSON.parse(ok(await run('verify', '--json', '@home', '@etc'), 'verify').stdout.toString()) as { ok: boolean; indexes: number };
    assert.deepEqual([verified.ok, verified.indexes], [true, 2]);
    const stats = JSON.parse(ok(await run('stats', '--json', '@etc'), 'stats').stdout.toString()) as { indexes: number; entries: number };
    assert.deepEqual([stats.indexes, stats.entries], [1, 3]);
    const thaw = JSON.parse(ok(await run('thaw', '--status', '--json', '@home'), 'thaw').stdout.toString()) as { index: string; allReadable: boolean };
    assert.deepEqual([thaw.index, thaw.allReadable], ['@home', true]);
  });

  test('mount @NAME mounts that archive', async () => {
    const m = await startMount({ env: t.env, index: '@home' }, join(t.dir, 'mnt'));
    try {
      assert.equal(await readFile(join(m.dir, 'dir', 'file.txt'), 'utf8'), 'second\n');
    } finally {
      await m.stop();
    }
  });

  test('no such name or id, or an ambiguous id prefix: one line, exit 2, for every command', async () => {
    for (const args of [['restore', '@nope'], ['ls', '@nope'], ['cat', '@nope', 'x'], ['extract', '@nope'], ['verify', '@nope'], ['stats', '@nope'], ['thaw', '--status', '@nope'], ['mount', '@nope', join(t.dir, 'mnt2')]]) {
      const r = await run(...args);
      assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
      assert.equal(r.stderr, "dtar: no archive named nope and no archive id starting with it in the store; see 'dtar archives'\n", args[0]);
    }
    const ambiguous = await run('ls', `@${ids[0]!.slice(0, 4)}`);
    assert.equal(ambiguous.code, 2);
    assert.match(ambiguous.stderr, /^dtar: \d{4} is ambiguous: 3 archive ids start with it \(.*\); give more of the id\n$/);
  });

  test('a damaged cached copy is fetched again; a local file named like @x is read as ./@x', async () => {
    const cache = join(t.dir, 'cache', 'dtar', (await readdir(join(t.dir, 'cache', 'dtar')))[0]!, 'indexes', ids[1]!);
    await writeFile(cache, 'damaged');
    assert.equal(ok(await run('ls', `@${ids[1]}`), 'ls after damage').stdout.toString(), './\n./dir/\n./dir/file.txt\n');
    assert.deepEqual(await readFile(cache), await readFile(join(t.store, 'indexes', ids[1]!)));
    ok(await run('archives', 'get', 'etc', '-o', join(t.dir, '@etc')), 'get');
    assert.equal(ok(await dtar(['ls', './@etc'], { env: t.env, cwd: t.dir }), 'ls ./@etc').stdout.toString(), './\n./dir/\n./dir/file.txt\n');
  });
});
