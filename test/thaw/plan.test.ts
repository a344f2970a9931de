/**
 * Thaw planning on a real index (local store): a directory takes the bricks of everything
 * below it and only those, a hard link takes its target's, the whole archive its end too,
 * and paths not in the archive are reported.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { readIndex } from '../../src/index/reader';
import type { IndexAuth } from '../../src/index/seal';
import { indexAuth } from '../support/index-auth';
import { planForPaths } from '../../src/thaw/plan';
import { dtar, ok, testStore, type TestStore } from '../support/dtar';

const run = promisify(execFile);

describe('thaw plan', () => {
  let s: TestStore;
  let index: string;
  let auth: IndexAuth;
  const read = () => readIndex(createReadStream(index), index, auth);
  /** Brick ids of the members whose path starts with `prefix`, straight from the index. */
  const bricksOf = async (prefix: string): Promise<Set<string>> => {
    const ids = new Set<string>();
    for await (const item of read()) {
      if (item.kind === 'entry' && item.header.path.startsWith(prefix)) for (const c of item.record?.body.chunks ?? []) ids.add(c.brick.toString('hex'));
    }
    return ids;
  };

  before(async () => {
    s = await testStore();
    ok(await dtar(['init', '--brick-size', '1M'], { env: s.env }), 'init');
    const src = join(s.dir, 'src');
    for (const d of ['a', 'b', 'c']) await mkdir(join(src, d), { recursive: true });
    for (let i = 0; i < 3; i++) {
      await writeFile(join(src, 'a', `f${i}`), randomBytes(800_000));
      await writeFile(join(src, 'b', `f${i}`), randomBytes(800_000));
    }
    await link(join(src, 'a', 'f0'), join(src, 'c', 'same-as-a-f0'));
    const tar = join(s.dir, 'in.tar');
    await run('tar', ['-C', src, '--sort=name', '-cf', tar, 'a', 'b', 'c']);
    index = join(s.dir, 'in.idx');
    ok(await dtar(['ingest', tar, '-o', index, '--quiet'], { env: s.env }), 'ingest');
    auth = await indexAuth(s.store, s.env.DTAR_PASSWORD!);
  });
  after(() => s.cleanup());

  it('takes a directory with everything below it, and nothing else', async () => {
    const plan = await planForPaths(read, ['./b/']);
    assert.deepEqual(new Set(plan.bricks.map((b) => b.id)), await bricksOf('b/'));
    assert.equal(plan.members, 4, 'b/ and its three files');
    assert.equal(plan.bricks.reduce((n, b) => n + b.plainBytes, 0), 3 * 800_000, 'the selected plaintext, counted once');
    assert.deepEqual(plan.unmatched, []);
  });

  it("takes a hard link's target", async () => {
    const plan = await planForPaths(read, ['c']);
    const target = await bricksOf('a/f0');
    assert.ok(target.size > 0);
    assert.deepEqual(new Set(plan.bricks.map((b) => b.id)), target);
  });

  it('takes every brick, the end of the archive included, when no path is given', async () => {
    const plan = await planForPaths(read, []);
    const all = await bricksOf('');
    for await (const item of read()) if (item.kind === 'trailer') for (const c of item.trailer.tail.chunks) all.add(c.brick.toString('hex'));
    assert.deepEqual(new Set(plan.bricks.map((b) => b.id)), all);
  });

  it('on a store without archive classes there is nothing to thaw', async () => {
    const r = ok(await dtar(['thaw', index, 'a'], { env: s.env }), 'thaw');
    assert.match(r.stdout.toString(), /readable \(not archived\): +\d+ .*\n[\s\S]*nothing to thaw\n$/);
    const st = JSON.parse(ok(await dtar(['thaw', '--status', '--json', index], { env: s.env }), 'status').stdout.toString()) as { allReadable: boolean };
    assert.equal(st.allReadable, true);
    const usage = await dtar(['thaw', '--dry-run', '--wait', index], { env: s.env });
    assert.equal(usage.code, 2);
    const missing = await dtar(['thaw', index, 'nope'], { env: s.env });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^dtar: not in the archive: nope\n$/);
  });

  it("refuses an index of another store before sending anything", async () => {
    const other = await testStore();
    try {
      ok(await dtar(['init'], { env: other.env }), 'init other');
      const r = await dtar(['thaw', index], { env: other.env });
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /this index belongs to store \w{8} .*not to the store opened/);
    } finally {
      await other.cleanup();
    }
  });

  it('reports paths that are not in the archive', async () => {
    const plan = await planForPaths(read, ['a/f1', 'nope']);
    assert.deepEqual(plan.unmatched, ['nope']);
  });
});
