/**
 * The whole store mounted (`dtar mount MOUNTPOINT`, no index): MOUNTPOINT/<name>/<created>/
 * for each stored archive and MOUNTPOINT/<name>/latest, with no local index at all. An
 * archive is loaded only when entered (its sealed copy is then kept in the cache
 * directory), dropped under the memory budget and loaded again on use, and a damaged copy
 * fails that archive alone.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dtar, ok, testStore, TestStore } from '../support/dtar';
import { S3TestServer, startS3TestServer } from '../support/s3-server';
import { s3Store, S3Store } from '../s3/cli';
import { RunningMount, sh, startMount } from './fixture';

async function tree(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), text);
  }
}

/** Cached sealed index copies (what entering an archive fetched). */
async function cachedCopies(t: TestStore): Promise<string[]> {
  const root = join(t.dir, 'cache');
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else if (d.endsWith('/indexes')) found.push(e.name);
    }
  };
  await walk(root);
  return found.sort();
}

describe('dtar mount of the whole store', () => {
  let t: TestStore;
  const mounts: RunningMount[] = [];
  const src = (n: string): string => join(t.dir, 'src', n);
  let ids: string[];

  before(async () => {
    t = await testStore();
    t.env.XDG_CACHE_HOME = join(t.dir, 'cache');
    ok(await dtar(['init', '-q'], { env: t.env }), 'init');
    await tree(src('home1'), { 'alice/notes.txt': 'first version\n', 'bob/todo': 'x\n' });
    await tree(src('home2'), { 'alice/notes.txt': 'second version\n', 'alice/new.txt': 'new\n', 'bob/todo': 'y\n' });
    await tree(src('etc'), { 'hostname': 'box\n', 'fstab': '# none\n' });
    for (const [name, dir] of [['home', 'home1'], ['etc', 'etc'], ['home', 'home2']] as const) {
      const tar = join(t.dir, `${dir}.tar`);
      await sh('tar', ['-cf', tar, '-C', src(dir), '.']);
      const index = join(t.dir, `${dir}.idx`);
      ok(await dtar(['ingest', '-q', '--name', name, tar, '-o', index], { env: t.env }), `ingest ${dir}`);
      // The store is the only source: no local index is left.
      await rm(index);
      // Distinct creation seconds, so the two "home" archives have an order.
      await new Promise((r) => setTimeout(r, 1100));
    }
    ids = (await readdir(join(t.store, 'indexes'))).sort();
    assert.equal(ids.length, 3);
  });

  after(async () => {
    for (const m of mounts) await m.stop();
    await t?.cleanup();
  });

  test('every archive under its name and creation time, latest pointing to the newest', async () => {
    const m = await startMount(t, join(t.dir, 'mnt'));
    mounts.push(m);
    assert.deepEqual((await readdir(m.dir)).sort(), ['etc', 'home']);
    const homes = (await readdir(join(m.dir, 'home'))).sort();
    assert.equal(homes.length, 3);
    assert.equal(homes[2], 'latest');
    assert.match(homes[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(await readlink(join(m.dir, 'home/latest')), homes[1]);
    // Listing names and versions entered no archive.
    assert.deepEqual(await cachedCopies(t), []);

    await sh('diff', ['-r', src('home1'), join(m.dir, 'home', homes[0]!)]);
    await sh('diff', ['-r', src('home2'), join(m.dir, 'home/latest')]);
    assert.equal((await cachedCopies(t)).length, 2, 'the two home archives, and not etc');
    await sh('diff', ['-r', src('etc'), join(m.dir, 'etc/latest')]);
    assert.equal((await cachedCopies(t)).length, 3);
  });

  test('archives dropped under the memory budget load again on use; a damaged cached copy is fetched anew', async () => {
    // Every cached copy damaged: each load must fall back to the store.
    const cache = join(t.dir, 'cache');
    const { stdout } = await sh('find', [cache, '-path', '*/indexes/*', '-type', 'f']);
    for (const f of stdout.trim().split('\n')) await writeFile(f, 'not a sealed copy');
    // A budget of one byte: each archive entered drops the one before.
    const m = await startMount(t, join(t.dir, 'mnt-small'), ['--archive-memory', '1']);
    mounts.push(m);
    const homes = (await readdir(join(m.dir, 'home'))).filter((n) => n !== 'latest').sort();
    for (let round = 0; round < 3; round++) {
      assert.equal(await readFile(join(m.dir, 'home', homes[0]!, 'alice/notes.txt'), 'utf8'), 'first version\n');
      assert.equal(await readFile(join(m.dir, 'home', homes[1]!, 'alice/notes.txt'), 'utf8'), 'second version\n');
      assert.equal(await readFile(join(m.dir, 'etc/latest/hostname'), 'utf8'), 'box\n');
    }
    await sh('diff', ['-r', src('home1'), join(m.dir, 'home', homes[0]!)]);
  });

  test('a damaged stored copy fails its archive alone, with EIO and one line', async () => {
    await rm(join(t.dir, 'cache'), { recursive: true, force: true });
    // The oldest copy is the first "home": damage its body, after the sealed metadata.
    const path = join(t.store, 'indexes', ids[0]!);
    const bytes = await readFile(path);
    bytes[bytes.length - 20]! ^= 0xff;
    await writeFile(path, bytes);
    const m = await startMount(t, join(t.dir, 'mnt-damaged'));
    mounts.push(m);
    const homes = (await readdir(join(m.dir, 'home'))).filter((n) => n !== 'latest').sort();
    await assert.rejects(readdir(join(m.dir, 'home', homes[0]!)), { code: 'EIO' });
    await sh('diff', ['-r', src('home2'), join(m.dir, 'home/latest')]);
    await m.stop();
    const lines = m.stderr().split('\n').filter((l) => l.includes(ids[0]!));
    assert.equal(lines.length, 1, m.stderr());
    assert.match(lines[0]!, /cannot be loaded/);
  });
});

describe('dtar mount of the whole store on S3', () => {
  let server: S3TestServer;
  let s: S3Store;
  const src = (n: string): string => join(s.dir, 'src', n);

  before(async () => {
    server = await startS3TestServer();
    s = await s3Store(server, 'mount');
    ok(await s.dtar(['init', '-q']), 'init');
    await tree(src('v1'), { 'docs/a.txt': 'one\n', 'b.bin': 'x'.repeat(100_000) });
    await tree(src('v2'), { 'docs/a.txt': 'two\n', 'b.bin': 'y'.repeat(100_000) });
    for (const v of ['v1', 'v2']) {
      await sh('tar', ['-cf', join(s.dir, `${v}.tar`), '-C', src(v), '.']);
      ok(await s.dtar(['ingest', '-q', '--name', 'docs', join(s.dir, `${v}.tar`), '-o', join(s.dir, `${v}.idx`)]), `ingest ${v}`);
      await rm(join(s.dir, `${v}.idx`));
      await new Promise((r) => setTimeout(r, 1100)); // distinct creation seconds
    }
  });

  after(async () => {
    await s?.cleanup();
    await server?.stop();
  });

  /** Whole-object reads of stored index copies (the listing reads only their heads, with a range). */
  const copyFetches = (): number => server.requests.filter((r) => r.op === 'GetObject' && r.key.includes('/indexes/') && r.headers.range === undefined).length;
  const headReads = (): number => server.requests.filter((r) => r.op === 'GetObject' && r.key.includes('/indexes/') && r.headers.range !== undefined).length;

  test('every archive from the bucket; an archive entered is fetched once, then served from the cache; a second mount reads no head', async () => {
    server.clearRequests();
    const m = await startMount(s, join(s.dir, 'mnt'), s.args);
    try {
      const versions = (await readdir(join(m.dir, 'docs'))).sort();
      assert.equal(versions.length, 3);
      assert.equal(copyFetches(), 0, 'listing names and versions fetches no copy');
      await sh('diff', ['-r', src('v1'), join(m.dir, 'docs', versions[0]!)]);
      await sh('diff', ['-r', src('v2'), join(m.dir, 'docs/latest')]);
      assert.equal(copyFetches(), 2);
    } finally {
      await m.stop();
    }
    server.clearRequests();
    const again = await startMount(s, join(s.dir, 'mnt'), s.args);
    try {
      await sh('diff', ['-r', src('v2'), join(again.dir, 'docs/latest')]);
      assert.equal(copyFetches(), 0, 'the second mount reads the copy from the cache');
      assert.equal(headReads(), 0, 'and no head: the heads cache has them all');
    } finally {
      await again.stop();
    }
  });
});
