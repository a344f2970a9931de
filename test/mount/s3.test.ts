/**
 * A single-archive mount of an index whose store is in S3 (the S3 test server): a file is
 * fetched with ranged GETs of what it needs (never a whole brick for a small file), a brick
 * gone from the bucket fails only the files that use it, and the rest reads back identical.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadArchive } from '../../src/archive/archive';
import { brickKey } from '../../src/brick/format';
import { indexFileBytes } from '../../src/index/file';
import { startS3TestServer, S3TestServer } from '../support/s3-server';
import { ingest, initStore, s3Store, S3Store } from '../s3/cli';
import { randomTar, randomTarSource } from '../support/random';
import { indexAuth } from '../support/index-auth';
import { RunningMount, sh, startMount } from './fixture';

describe('dtar mount of an S3 store', () => {
  let server: S3TestServer;
  let s: S3Store;
  let index: string;
  let m: RunningMount | undefined;
  const files = ['big/f0', 'big/f1', 'small/f0', 'small/f1', 'small/f2', 'small/f3'];
  /** Files that use the brick taken away. */
  const lost = new Set<string>();

  before(async () => {
    server = await startS3TestServer();
    s = await s3Store(server, 'mount');
    await initStore(s, ['--brick-size', '1M']);
    // Several bricks: the large files span some, the small ones share one.
    const tar = await randomTar(s.dir, { big: [1_500_000, 2_200_000], small: [10, 4000, 70_000, 0] });
    index = join(s.dir, 'input.index.tar');
    await ingest(s, tar, index);
    m = await startMount({ env: s.env, index }, join(s.dir, 'mnt'), s.args);
  });

  after(async () => {
    await m?.stop();
    await s?.cleanup();
    await server?.stop();
  });

  test('a small file is read with ranged GETs, not its whole brick', async () => {
    server.clearRequests();
    assert.equal((await readFile(join(m!.dir, 'small/f1'))).length, 4000);
    const gets = server.requests.filter((r) => r.op === 'GetObject' && r.key.includes('/bricks/'));
    assert.ok(gets.length > 0, 'the file came from the bucket');
    for (const g of gets) assert.match(String(g.headers.range), /^bytes=\d+-\d+$/, 'every brick read is ranged');
  });

  test('a brick gone from the bucket fails with EIO only the files that use it', async () => {
    const be = s.backend();
    try {
      const archive = await loadArchive(indexFileBytes(index), { where: index, auth: await indexAuth(be, s.env.DTAR_PASSWORD!) });
      const t = archive.tree.tables;
      const bricksOf = (path: string): Set<string> => {
        const row = t.inodes.ref[archive.tree.resolve(path)!]!;
        const out = new Set<string>();
        for (let c = t.contents.chunkStart[row]!; c < t.contents.chunkEnd[row]!; c++) out.add(t.chunks.bricks.toString('hex', t.chunks.brick[c]! * 32, t.chunks.brick[c]! * 32 + 32));
        return out;
      };
      const small = new Set(['small/f0', 'small/f1', 'small/f2'].flatMap((p) => [...bricksOf(p)]));
      const gone = [...bricksOf('big/f1')].find((b) => !small.has(b));
      assert.ok(gone, 'big/f1 has a brick no small file uses');
      for (const f of files) if (bricksOf(f).has(gone)) lost.add(f);
      await be.delete(brickKey(gone));
    } finally {
      await be.close();
    }
    const err = await readFile(join(m!.dir, 'big/f1')).then(
      () => null,
      (e: NodeJS.ErrnoException) => e.code,
    );
    assert.equal(err, 'EIO');
    assert.equal((await readFile(join(m!.dir, 'small/f2'))).length, 70_000, 'a file on other bricks still reads');
  });

  test('every file that does not use it reads back identical to the original', async () => {
    assert.deepEqual((await sh('find', ['.', '-type', 'f'], { cwd: m!.dir })).stdout.split('\n').filter(Boolean).sort(), files.map((f) => `./${f}`));
    for (const f of files) {
      const got = await readFile(join(m!.dir, f)).catch((e: NodeJS.ErrnoException) => e.code);
      assert.deepEqual(got, lost.has(f) ? 'EIO' : await readFile(join(randomTarSource(s.dir), f)), f);
    }
    assert.ok(lost.size < files.length - 1, 'most files are unaffected');
  });
});
