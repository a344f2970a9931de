/**
 * `dtar prune` through the real CLI on a local store: it deletes exactly the bricks no
 * remaining archive uses and takes them out of the catalogue (a later ingest stores their
 * data again rather than deduplicating against them); kept archives restore byte for byte
 * and `verify --read-data` is clean; `kill -9` at each step (DTAR_TEST_CRASH_AT) leaves the
 * same true and a second prune finishes; a local index of a pruned archive fails in one line.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { scanCatalogue } from '../../src/verify/catalogue-scan';
import { Repository } from '../../src/repo/repository';
import { LocalBackend } from '../../src/store/local';
import { dtar, ok, testStore, type TestStore } from '../support/dtar';
import { randomTar } from '../support/random';
import { assertOneLineError, checkStoreObjects, walk } from '../reliability/support';

interface PruneJson {
  dryRun: boolean;
  archives: number;
  deleted: { id: string }[];
  waiting: { id: string }[];
  partlyDead: { id: string }[];
  segmentsRewritten: number;
  before: { bricks: number; bytes: number; monthly: number };
  after: { bricks: number; bytes: number; monthly: number };
  monthlySaving: number;
}

const PASS = 'correct horse battery staple';

/** A store with archives keep1 (first: it holds the tar tail every archive shares), gone1, gone2, keep2, each of distinct data. */
async function setUp(s: TestStore): Promise<{ tars: Record<string, string>; indexes: Record<string, string> }> {
  ok(await dtar(['init', '--brick-size', '1M'], { env: s.env }), 'init');
  const tars: Record<string, string> = {};
  const indexes: Record<string, string> = {};
  for (const name of ['keep1', 'gone1', 'gone2', 'keep2']) {
    tars[name] = await randomTar(join(s.dir, name), { d: [1_200_000, 900_000, 5000] }, `${name}.tar`);
    indexes[name] = join(s.dir, `${name}.index.tar`);
    ok(await dtar(['ingest', tars[name]!, '--name', name, '-o', indexes[name]!, '-q'], { env: s.env }), `ingest ${name}`);
  }
  ok(await dtar(['forget', 'gone1', 'gone2', '-q'], { env: s.env }), 'forget');
  return { tars, indexes };
}

async function brickIds(s: TestStore): Promise<string[]> {
  return (await walk(join(s.store, 'bricks'))).map((p) => p.split('/').at(-1)!).sort();
}

async function catalogueBricks(s: TestStore): Promise<string[]> {
  const repo = await Repository.open(new LocalBackend(s.store), PASS, null);
  return [...(await scanCatalogue(repo.backend, repo.keys)).bricks.keys()].sort();
}

async function assertKeptRestore(s: TestStore, tars: Record<string, string>, indexes: Record<string, string>): Promise<void> {
  for (const name of ['keep1', 'keep2']) {
    const back = ok(await dtar(['restore', indexes[name]!], { env: s.env }), `restore ${name}`).stdout;
    assert.ok(back.equals(await readFile(tars[name]!)), `${name} restores byte for byte`);
  }
  const v = await dtar(['verify', '--read-data'], { env: s.env });
  assert.equal(v.code, 0, `verify --read-data is clean: ${v.stdout.toString()}${v.stderr}`);
}

describe('dtar prune on a local store', () => {
  let s: TestStore;
  let tars: Record<string, string>;
  let indexes: Record<string, string>;
  before(async () => {
    s = await testStore(PASS);
    ({ tars, indexes } = await setUp(s));
  });
  after(() => s.cleanup());

  it('a dry run plans, deletes nothing; prune deletes the dead bricks, catalogue first', async () => {
    const all = await brickIds(s);
    assert.ok(all.length >= 8, `several bricks per archive (${all.length})`);
    const dry = JSON.parse(ok(await dtar(['prune', '--dry-run', '--json'], { env: s.env }), 'dry run').stdout.toString()) as PruneJson;
    assert.equal(dry.dryRun, true);
    assert.equal(dry.archives, 2);
    assert.ok(dry.deleted.length >= 4, `the bricks of gone1 and gone2 (${dry.deleted.length})`);
    assert.deepEqual(dry.waiting, [], 'a local store has no minimum duration');
    assert.equal(dry.segmentsRewritten, 2);
    assert.equal(dry.after.bricks, dry.before.bricks - dry.deleted.length);
    assert.ok(dry.monthlySaving > 0 && Math.abs(dry.monthlySaving - (dry.before.monthly - dry.after.monthly)) < 1e-15);
    assert.deepEqual(await brickIds(s), all, 'the dry run deleted nothing');
    const stats = JSON.parse(ok(await dtar(['stats', '--json'], { env: s.env }), 'stats').stdout.toString()) as { reclaimable: { bricks: number; monthlySaving: number } };
    assert.equal(stats.reclaimable.bricks, dry.deleted.length, 'stats shows what prune would delete');
    assert.ok(Math.abs(stats.reclaimable.monthlySaving - dry.monthlySaving) < 1e-15);

    const text = ok(await dtar(['prune'], { env: s.env }), 'prune').stdout.toString();
    assert.match(text, new RegExp(`^prune: 2 archives use \\d+ chunks\\ndeleting: ${dry.deleted.length} bricks, `));
    assert.match(text, /\ncatalogue: 2 segments rewritten without the bricks deleted\n/);
    assert.match(text, /\nbricks after: {2}\d+ bricks, .* a month \(saves \d+\.\d+ USD a month\)\n/);
    const left = await brickIds(s);
    assert.deepEqual(left, all.filter((b) => !dry.deleted.some((d) => d.id === b)));
    assert.deepEqual(await catalogueBricks(s), left, 'the catalogue names exactly the bricks left');
    await assertKeptRestore(s, tars, indexes);
    await checkStoreObjects(s.store, PASS);

    const again = JSON.parse(ok(await dtar(['prune', '--json'], { env: s.env }), 'prune again').stdout.toString()) as PruneJson;
    assert.deepEqual([again.deleted.length, again.segmentsRewritten], [0, 0], 'nothing left to do');
  });

  it('a later ingest of the same data stores it again instead of deduplicating against a deleted brick', async () => {
    const again = join(s.dir, 'gone1.again.index.tar');
    const r = ok(await dtar(['ingest', tars['gone1']!, '--name', 'gone1', '-o', again, '--json'], { env: s.env }), 'ingest');
    const summary = JSON.parse(r.stderr) as { newChunks: number; chunks: number };
    assert.equal(summary.newChunks, summary.chunks - 1, 'every chunk stored anew but the shared tail');
    const back = ok(await dtar(['restore', again], { env: s.env }), 'restore').stdout;
    assert.ok(back.equals(await readFile(tars['gone1']!)));
  });

  it('a local index of a forgotten and pruned archive fails in one line naming it, exit 3', async () => {
    for (const argv of [['restore', indexes['gone2']!], ['cat', indexes['gone2']!, 'd/f0']]) {
      const r = await dtar(argv, { env: s.env });
      assertOneLineError(r, 3, /gone2\.index\.tar: archive gone2 of \S+ was forgotten and its bricks pruned \(no stored copy of it is left\): it can no longer be restored\n$/, argv[0]);
      assert.equal(r.stdout.length, 0, `${argv[0]} wrote nothing`);
    }
  });
});

describe('dtar prune killed at each step', () => {
  // (Here no rewritten segment keeps a brick, so none is written: the new segment is written before any is deleted.)
  for (const point of ['segment-deleted:1', 'segment-deleted:2', 'brick-deleted:1', 'brick-deleted:3']) {
    it(`kill -9 after ${point}: kept archives restore, verify is clean, a second prune finishes`, async () => {
      const s = await testStore(PASS);
      try {
        const { tars, indexes } = await setUp(s);
        const plan = JSON.parse(ok(await dtar(['prune', '--dry-run', '--json'], { env: s.env }), 'plan').stdout.toString()) as PruneJson;
        const killed = await dtar(['prune', '-q'], { env: { ...s.env, DTAR_TEST_CRASH_AT: point } });
        assert.equal(killed.code, -1, `killed by SIGKILL (${killed.stderr})`);
        const look = await checkStoreObjects(s.store, PASS); // every segment names only stored bricks
        assert.ok(look.bricks.length < plan.before.bricks || point.startsWith('segment'), 'stopped midway');
        assert.ok(look.bricks.length > plan.after.bricks, 'not finished');
        await assertKeptRestore(s, tars, indexes);
        // The lock of the killed prune is stale (its process is gone): the next one runs and finishes.
        const done = JSON.parse(ok(await dtar(['prune', '--json'], { env: s.env }), 'prune again').stdout.toString()) as PruneJson;
        assert.equal(done.after.bricks, plan.after.bricks);
        assert.deepEqual(await brickIds(s), await catalogueBricks(s));
        assert.equal((await brickIds(s)).length, plan.after.bricks);
        await assertKeptRestore(s, tars, indexes);
      } finally {
        await s.cleanup();
      }
    });
  }
});
