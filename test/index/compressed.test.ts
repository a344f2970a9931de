/**
 * Compressed index files (issue 22): `dtar ingest -o FILE.zst` / `.gz` writes the index
 * compressed; every command reads it, recognised by its first bytes and not its name; GNU tar
 * (with zstd installed) and bsdtar still list it; the checksum and MAC still hold the
 * decompressed bytes to account, and a truncated or damaged compressed file is a one-line
 * error.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, open, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as zstd from 'zstd-napi';
import { compressIndexFile, indexFileBytes } from '../../src/index/file';
import { dtar, ok, testStore, TestStore } from '../support/dtar';
import { parseIndex, setuidFirst, reseal } from '../support/forge';
import { sh, startMount } from '../mount/fixture';

describe('compressed index files', () => {
  let t: TestStore;
  let plain: string;
  const run = (...args: string[]) => dtar(args, { env: t.env });
  const at = (n: string): string => join(t.dir, n);

  before(async () => {
    t = await testStore();
    ok(await run('init', '-q'), 'init');
    await mkdir(at('src/dir'), { recursive: true });
    await writeFile(at('src/dir/a.txt'), 'alpha\n'.repeat(1000));
    await writeFile(at('src/b.txt'), 'beta\n');
    await sh('tar', ['-cf', at('data.tar'), '-C', at('src'), '.']);
    plain = at('plain.idx');
    ok(await run('ingest', '-q', at('data.tar'), '-o', plain), 'ingest');
    ok(await run('ingest', '-q', at('data.tar'), '-o', at('z.idx.zst')), 'ingest .zst');
    ok(await run('ingest', '-q', at('data.tar'), '-o', at('g.idx.gz')), 'ingest .gz');
  });

  after(async () => {
    await t?.cleanup();
  });

  test('-o FILE.zst and FILE.gz write the index compressed, and GNU tar and bsdtar list it', async () => {
    const z = await readFile(at('z.idx.zst'));
    const g = await readFile(at('g.idx.gz'));
    assert.deepEqual([...z.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd]);
    assert.deepEqual([...g.subarray(0, 2)], [0x1f, 0x8b]);
    const size = (await readFile(plain)).length;
    assert.equal((await sh('zstd', ['-dc', at('z.idx.zst')], { encoding: 'buffer' })).stdout.length, size);
    assert.equal(gunzipSync(g).length, size);
    const listing = (await sh('tar', ['-tvf', plain])).stdout;
    assert.equal((await sh('tar', ['-tvf', at('z.idx.zst')])).stdout, listing);
    assert.equal((await sh('tar', ['-tvf', at('g.idx.gz')])).stdout, listing);
    assert.equal((await sh('bsdtar', ['-tf', at('z.idx.zst')])).stdout, (await sh('bsdtar', ['-tf', plain])).stdout);
  });

  test('an index of several 4 MiB pieces: several zstd frames or gzip members, one file to zstd, gzip and dtar', async () => {
    const bytes = Buffer.alloc(9 * 1024 * 1024 + 123);
    for (let i = 0; i < bytes.length; i += 4096) bytes.writeUInt32LE(i * 2654435761 >>> 0, i);
    await writeFile(at('big'), bytes);
    for (const [kind, tool] of [['zstd', 'zstd'], ['gzip', 'gzip']] as const) {
      const h = await open(at(`big.${kind}`), 'w');
      await compressIndexFile(at('big'), h, kind);
      await h.close();
      assert.deepEqual((await sh(tool, ['-dc', at(`big.${kind}`)], { encoding: 'buffer', maxBuffer: 64 << 20 })).stdout, bytes, tool);
      const read: Buffer[] = [];
      for await (const b of indexFileBytes(at(`big.${kind}`))) read.push(Buffer.from(b));
      assert.deepEqual(Buffer.concat(read), bytes, `dtar's reader, ${kind}`);
    }
  });

  test('every command reads a compressed index, by its bytes whatever its name', async () => {
    // Renamed: a .zst named .tar and a gzip one with no extension; a plain index named .zst.
    await copyFile(at('z.idx.zst'), at('z-renamed.tar'));
    await copyFile(at('g.idx.gz'), at('g-renamed'));
    await copyFile(plain, at('plain-renamed.zst'));
    const original = await readFile(at('data.tar'));
    for (const index of [at('z.idx.zst'), at('g.idx.gz'), at('z-renamed.tar'), at('g-renamed'), at('plain-renamed.zst')]) {
      assert.deepEqual(ok(await run('restore', index), `restore ${index}`).stdout, original);
      assert.equal(ok(await run('ls', index), `ls ${index}`).stdout.toString(), './\n./b.txt\n./dir/\n./dir/a.txt\n');
      assert.equal(ok(await run('cat', index, './b.txt'), 'cat').stdout.toString(), 'beta\n');
    }
    ok(await run('extract', '-q', at('z.idx.zst'), '-C', at('out')), 'extract');
    assert.equal(await readFile(at('out/b.txt'), 'utf8'), 'beta\n');
    ok(await run('verify', '-q', at('z.idx.zst'), at('g.idx.gz')), 'verify');
    const stats = JSON.parse(ok(await run('stats', '--json', at('g.idx.gz')), 'stats').stdout.toString()) as { entries: number };
    assert.equal(stats.entries, 4);
    const thaw = JSON.parse(ok(await run('thaw', '--status', '--json', at('z.idx.zst')), 'thaw').stdout.toString()) as { allReadable: boolean };
    assert.equal(thaw.allReadable, true);
    const m = await startMount({ env: t.env, index: at('z.idx.zst') }, at('mnt'));
    try {
      assert.equal(await readFile(at('mnt/dir/a.txt'), 'utf8'), 'alpha\n'.repeat(1000));
    } finally {
      await m.stop();
    }
  });

  test('an ingest that fails once its index is complete leaves neither the compressed index nor a temporary file', async () => {
    // The index is compressed while its stored copy uploads; here the upload fails (the
    // store's indexes/ is a file), and both the plain and the compressed temporary go.
    await mkdir(at('failed'));
    await rename(join(t.store, 'indexes'), at('indexes.saved'));
    await writeFile(join(t.store, 'indexes'), 'not a directory');
    try {
      for (const name of ['failed.idx.gz', 'failed.idx.zst']) {
        const r = await run('ingest', '-q', at('data.tar'), '-o', at(`failed/${name}`));
        assert.notEqual(r.code, 0, name);
        assert.match(r.stderr, /^dtar: [^\n]*\n$/, name);
      }
      assert.deepEqual(await readdir(at('failed')), []);
    } finally {
      await unlink(join(t.store, 'indexes'));
      await rename(at('indexes.saved'), join(t.store, 'indexes'));
    }
  });

  test('a truncated or damaged compressed index: one line, exit 2', async () => {
    const z = await readFile(at('z.idx.zst'));
    const g = await readFile(at('g.idx.gz'));
    const flipped = Buffer.from(z);
    flipped[Math.floor(z.length / 2)]! ^= 0xff;
    const cases: [string, Buffer][] = [
      ['cut.zst', z.subarray(0, z.length - 20)],
      ['cut.gz', g.subarray(0, g.length - 20)],
      ['flipped.zst', flipped],
      ['header-only.zst', z.subarray(0, 6)],
    ];
    for (const [name, bytes] of cases) {
      await writeFile(at(name), bytes);
      for (const cmd of ['restore', 'ls']) {
        const r = await run(cmd, at(name));
        assert.equal(r.code, 2, `${cmd} ${name}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`^dtar: ${at(name)}[^\n]*\n$`), `${cmd} ${name}`);
      }
    }
  });

  test('the checksum and MAC hold for the decompressed bytes: a rewritten index recompressed is refused', async () => {
    const index = await readFile(plain);
    const p = await parseIndex(index);
    // Rewritten as someone without the key would (checksums recomputed, old MAC kept), then compressed.
    await writeFile(at('forged.idx.zst'), zstd.compress(reseal(p, setuidFirst(index, p))));
    const forged = await run('ls', at('forged.idx.zst'));
    assert.equal(forged.code, 1, forged.stderr);
    assert.match(forged.stderr, /^dtar: [^\n]*forged\.idx\.zst is not an authentic index of this store[^\n]*\n$/);
    // A byte changed without recomputing anything: the checksum finds it.
    const damaged = Buffer.from(index);
    damaged[p.files[0]!.record + 30]! ^= 1;
    await writeFile(at('damaged.idx.gz'), gzipSync(damaged));
    const r = await run('restore', at('damaged.idx.gz'));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^dtar: [^\n]*damaged[^\n]*\n$/);
  });
});
