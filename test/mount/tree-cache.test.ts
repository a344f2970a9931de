/**
 * The tree cache: a mount keeps the index's loaded tables sealed in the cache directory, and
 * a later mount of the same index serves them without parsing the index. What is served must
 * be the index's tree whatever the cache holds: a damaged cache file, or one of another index,
 * is a miss.
 */
import assert from 'node:assert/strict';
import { copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dtar } from '../support/dtar';
import { buildFixture, Fixture, sh, startMount } from './fixture';

/** Every entry's path, type, mode, owner, links, mtime and size (or target), and every file's SHA-256. */
async function snapshot(dir: string): Promise<string> {
  const { stdout } = await sh('sh', ['-c', "find . -printf '%p|%y|%m|%U|%G|%n|%T@|%s|%l\\n' | sort; find . -type f ! -name fifo -exec sha256sum {} + | sort"], { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

describe('the tree cache', () => {
  let f: Fixture;
  let trees: string;
  let first: string;

  /** Mounts `index`, takes a snapshot, and unmounts (the process saves its tree before it exits). */
  async function mounted(index: string): Promise<string> {
    const m = await startMount({ env: f.env, index }, join(f.dir, 'mnt'));
    try {
      return await snapshot(m.dir);
    } finally {
      await m.stop();
    }
  }

  async function cacheFiles(): Promise<string[]> {
    return (await readdir(trees).catch(() => [])).filter((n) => !n.endsWith('.tmp')).sort();
  }

  before(async () => {
    f = await buildFixture();
    const storeId = JSON.parse(await readFile(join(f.store, 'config'), 'utf8')).id as string;
    trees = join(f.env.XDG_CACHE_HOME!, 'dtar', storeId, 'trees');
    first = await mounted(f.index);
  });

  after(async () => {
    await f?.cleanup();
  });

  test('a first mount parses the index and keeps its tree, sealed', async () => {
    const files = await cacheFiles();
    assert.equal(files.length, 1, 'one tree kept');
    const bytes = await readFile(join(trees, files[0]!));
    assert.equal(bytes.subarray(0, 8).toString('latin1'), 'DTARTRE1');
    assert.equal(bytes.indexOf('deep.txt'), -1, 'names are not readable in the cache file');
    assert.match(first, /\.\/dir\/sub\/deep\.txt\|f\|/);
  });

  test('a later mount serves the kept tree without reading the index between its ends', async () => {
    // Damage the middle of the index: a parse would refuse it, the kept tree does not need it.
    const damaged = join(f.dir, 'damaged.idx');
    const bytes = await readFile(f.index);
    const mid = Math.floor(bytes.length / 2);
    bytes[mid] = bytes[mid]! ^ 0xff;
    await writeFile(damaged, bytes);
    assert.equal(await mounted(damaged), first);
    // Proof that it was the cache: without it, the same file fails to load.
    const env = { ...f.env, XDG_CACHE_HOME: join(f.dir, 'empty-cache') };
    const r = await dtar(['mount', '-q', damaged, join(f.dir, 'mnt')], { env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /damaged|checksum/);
  });

  test('a damaged cache file is a miss: the index is parsed again and the tree kept anew', async () => {
    const [name] = await cacheFiles();
    const path = join(trees, name!);
    const bytes = await readFile(path);
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0x01;
    await writeFile(path, bytes);
    assert.equal(await mounted(f.index), first);
    assert.notDeepEqual(await readFile(path), bytes, 'the damaged file was replaced');
    // The replacement opens: the damaged index mounts from it again.
    const damaged = join(f.dir, 'damaged.idx');
    assert.equal(await mounted(damaged), first);
  });

  test("another index's tree under this index's name is a miss", async () => {
    // A second archive of other content, then its kept tree copied over the first index's.
    const other = join(f.dir, 'other');
    await sh('sh', ['-c', `mkdir -p ${other} && echo other > ${other}/only.txt && tar -cf ${other}.tar -C ${other} .`]);
    const otherIndex = join(f.dir, 'other.idx');
    assert.equal((await dtar(['ingest', '-q', `${other}.tar`, '-o', otherIndex], { env: f.env })).code, 0);
    const before = new Set(await cacheFiles());
    const otherTree = await mounted(otherIndex);
    assert.match(otherTree, /only\.txt/);
    const added = (await cacheFiles()).filter((n) => !before.has(n));
    assert.equal(added.length, 1);
    for (const name of before) await copyFile(join(trees, added[0]!), join(trees, name));
    assert.equal(await mounted(f.index), first, 'the index is served its own tree');
  });
});
