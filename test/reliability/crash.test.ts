/**
 * Crash during ingest: `dtar ingest` is killed with SIGKILL at random points (spread over the
 * time a whole ingest takes, so that some kills land while bricks and catalogue segments are
 * being written). After each kill the store holds no partial object under a final name
 * (every brick's SHA-256 is its name, every catalogue segment authenticates and names only
 * stored bricks) and no index was published half-written (an index that exists restores
 * whole); a rerun of the same ingest succeeds, stores fewer new bytes when bricks had been
 * catalogued, restores byte for byte, and `dtar verify --read-data` over the whole store
 * (the killed run's leftovers included) passes.
 * Reproduce a run with DTAR_SEED=<seed printed in the test name>.
 */
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dtar, ok, testStore, type TestStore } from '../support/dtar';
import { checkStoreObjects } from './support';
import { randomTar, Rng, seedFromEnv } from '../support/random';
import { spawnDtar } from '../support/dtar';

/** Kills per run of the suite (each is a fresh store); DTAR_CRASH_RUNS for more. */
const RUNS = Number(process.env.DTAR_CRASH_RUNS ?? 4);
const PASSPHRASE = 'crash test passphrase';

interface Summary {
  newBytes: number;
  newChunks: number;
  chunks: number;
  bricks: number;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe('SIGKILL during ingest', () => {
  const seed = seedFromEnv();
  const rng = new Rng(seed);
  let work: TestStore;
  let tar: string;
  let original: Buffer;
  let full: Summary;
  let fullMs: number;

  before(async () => {
    work = await testStore(PASSPHRASE);
    tar = await randomTar(work.dir, { a: [2_500_000, 1_500_000, 700_000, 10_000], b: [3_000_000, 50, 0, 900_000], c: [1_200_000] });
    original = await readFile(tar);
    // A whole ingest, to learn how long one takes and how much it stores.
    ok(await dtar(['init', '--brick-size', '1M', '--quiet'], { env: work.env }), 'init');
    const t0 = Date.now();
    full = JSON.parse(ok(await dtar(['ingest', tar, '-o', join(work.dir, 'full.idx'), '--json'], { env: work.env }), 'ingest').stderr) as Summary;
    fullMs = Date.now() - t0;
    assert.ok(full.bricks >= 6, `the data fills several bricks (${full.bricks})`);
  });
  after(() => work.cleanup());

  for (let run = 0; run < RUNS; run++) {
    test(`kill ${run + 1} of ${RUNS} (DTAR_SEED=${seed})`, async () => {
      const s = await testStore(PASSPHRASE);
      try {
        ok(await dtar(['init', '--brick-size', '1M', '--quiet'], { env: s.env }), 'init');
        const index = join(s.dir, 'backup.idx');
        // Spread the kills over the whole ingest: run k lands in the k-th fifth of it.
        const delay = Math.round((fullMs * (run + rng.next())) / RUNS);
        const ingest = spawnDtar(['ingest', tar, '-o', index, '--json'], { env: s.env });
        const timer = setTimeout(() => ingest.child.kill('SIGKILL'), delay);
        const killed = await ingest.done;
        clearTimeout(timer);
        const look = await checkStoreObjects(s.store, PASSPHRASE);
        if (killed.signal === 'SIGKILL') {
          // The kill may land after the index was published (while the summary is printed):
          // then the index is whole. Before that, there is none.
          if (await exists(index)) {
            const early = ok(await dtar(['restore', index], { env: s.env }), `restore of the index published before the kill at ${delay} ms`).stdout;
            assert.ok(early.equals(original), `killed after ${delay} ms: a published index is whole`);
          }
        } else {
          assert.equal(killed.code, 0, killed.stderr); // finished before the kill came
        }

        const rerun = JSON.parse(ok(await dtar(['ingest', tar, '-o', index, '--json'], { env: s.env }), 'rerun').stderr) as Summary;
        const catalogued = look.segments.length > 0;
        if (catalogued) assert.ok(rerun.newBytes < full.newBytes, `the rerun reuses the ${look.bricks.length} bricks stored before the kill (${rerun.newBytes} < ${full.newBytes} new bytes)`);
        else assert.equal(rerun.newBytes, full.newBytes);
        const back = ok(await dtar(['restore', index], { env: s.env }), 'restore').stdout;
        assert.ok(back.equals(original), 'restored bytes are identical');
        // Every stored index, and every brick left by the killed run, checks out.
        const v = await dtar(['verify', '--read-data'], { env: s.env });
        assert.equal(v.code, 0, `verify after a kill at ${delay} ms (${look.bricks.length} bricks, ${look.segments.length} segments before the rerun): ${v.stdout.toString()}${v.stderr}`);
      } finally {
        await s.cleanup();
      }
    });
  }
});
