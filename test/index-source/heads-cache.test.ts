/**
 * The heads cache (src/index-source/heads-cache.ts): listing the stored copies again reads
 * only the store's listing, and the heads of copies added since. Whatever is in the cache
 * file is used only if it authenticates under this store's key: damaged, rewritten or
 * foreign files are ignored (their heads are read from the store again), never trusted.
 * Requests are counted at the S3 test server.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ok } from '../support/dtar';
import { S3TestServer, startS3TestServer } from '../support/s3-server';
import { s3Store, S3Store } from '../s3/cli';

describe('the heads cache', () => {
  let server: S3TestServer;
  let s: S3Store;
  let other: S3Store;

  /** Ranged reads of stored copies: their heads. */
  const headReads = (): number => server.requests.filter((r) => r.op === 'GetObject' && r.key.includes('/indexes/') && r.headers.range !== undefined).length;

  async function ingest(store: S3Store, name: string, n: number): Promise<void> {
    const tar = join(store.dir, `${name}${n}.tar`);
    await writeFile(join(store.dir, 'f.txt'), `${name} ${n}\n`);
    execFileSync('tar', ['-cf', tar, '-C', store.dir, 'f.txt']);
    ok(await store.dtar(['ingest', '-q', '--name', name, tar, '-o', join(store.dir, `${name}${n}.idx`)]), 'ingest');
  }

  /** `dtar archives --json`, with the number of heads it read from the store. */
  async function archives(store: S3Store = s): Promise<{ list: string; heads: number }> {
    server.clearRequests();
    const r = ok(await store.dtar(['archives', '--json']), 'archives');
    assert.equal(r.stderr, '');
    return { list: r.stdout.toString(), heads: headReads() };
  }

  /** The one heads cache file under a store's cache directory. */
  async function cacheFile(store: S3Store): Promise<string> {
    const root = join(store.dir, 'cache', 'dtar');
    const [id, ...more] = await readdir(root);
    assert.equal(more.length, 0);
    return join(root, id!, 'heads');
  }

  before(async () => {
    server = await startS3TestServer();
    s = await s3Store(server, 'heads');
    other = await s3Store(server, 'other');
    for (const store of [s, other]) ok(await store.dtar(['init', '-q']), 'init');
    for (let n = 0; n < 3; n++) await ingest(s, 'home', n);
    await ingest(other, 'etc', 0);
  });

  after(async () => {
    await s?.cleanup();
    await other?.cleanup();
    await server?.stop();
  });

  test('a second listing reads no head; a copy added since is the only one read', async () => {
    const first = await archives();
    assert.equal(JSON.parse(first.list).length, 3);
    assert.equal(first.heads, 3);
    const second = await archives();
    assert.equal(second.list, first.list);
    assert.equal(second.heads, 0, 'the heads come from the cache');
    await ingest(s, 'home', 3);
    const third = await archives();
    assert.equal(JSON.parse(third.list).length, 4);
    assert.equal(third.heads, 1, 'only the new copy is read');
    assert.equal((await archives()).heads, 0);
  });

  test('a forgotten copy leaves the listing and the cache', async () => {
    const before = JSON.parse((await archives()).list) as { id: string }[];
    ok(await s.dtar(['forget', '-q', before[0]!.id]), 'forget');
    const now = await archives();
    assert.deepEqual(JSON.parse(now.list), before.slice(1));
    assert.equal(now.heads, 0);
    assert.ok(!(await readFile(await cacheFile(s), 'latin1')).includes(before[0]!.id), 'the cache no longer names it');
  });

  test('a damaged, rewritten, truncated or foreign cache file is ignored and replaced', async () => {
    const good = await archives();
    assert.equal(good.heads, 0);
    const path = await cacheFile(s);
    const original = await readFile(path);
    const count = JSON.parse(good.list).length as number;
    const listEnd = 12 + original.readUInt32LE(8);
    const names = JSON.parse(original.subarray(12, listEnd).toString()) as string[];
    assert.equal(names.length, count);
    // Two entries' names swapped: the same bytes, each archive's metadata under the other's key.
    const swapped = Buffer.from(JSON.stringify([names[1], names[0], ...names.slice(2)]));
    const length = Buffer.alloc(4);
    length.writeUInt32LE(swapped.length);
    await archives(other);
    const cases: [string, Buffer][] = [
      ['a byte of the sealed metadata flipped', Buffer.from(original).fill(original[original.length - 20]! ^ 1, original.length - 20, original.length - 19)],
      ['two entries swapped', Buffer.concat([original.subarray(0, 8), length, swapped, original.subarray(listEnd)])],
      ['truncated', original.subarray(0, original.length - 1)],
      ['not a cache file', Buffer.from('hello\n')],
      ["another store's", await readFile(await cacheFile(other))],
    ];
    for (const [what, bytes] of cases) {
      await writeFile(path, bytes);
      const r = await archives();
      assert.equal(r.list, good.list, what);
      assert.equal(r.heads, count, `${what}: every head is read again`);
      assert.deepEqual(await readFile(path).then((b) => b.subarray(0, listEnd)), original.subarray(0, listEnd), `${what}: the cache is written anew`);
      assert.equal((await archives()).heads, 0, `${what}: and used next time`);
    }
  });
});
