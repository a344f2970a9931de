/**
 * verify and repair against real damage: a flipped byte in a brick, a missing brick, a
 * damaged catalogue segment. Each is found, reported with the files and bricks concerned,
 * and exits 1; repair rebuilds the catalogue from the bricks' tables.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { readIndex } from '../../src/index/reader';
import { indexAuth } from '../support/index-auth';
import { type Fixture, makeFixture } from '../commands/harness';
import { dtar } from '../support/dtar';

let f: Fixture;
let brick: string;
let brickHex: string;
before(async () => {
  f = await makeFixture();
  const sub = (await readdir(join(f.store, 'bricks')))[0]!;
  brickHex = (await readdir(join(f.store, 'bricks', sub)))[0]!;
  brick = join(f.store, 'bricks', sub, brickHex);
});
after(() => f.cleanup());

interface Report {
  ok: boolean;
  files: number;
  brickProblems: { brick: string; problem: string }[];
  fileProblems: { index: string; path: string; problem: string }[];
  catalogueProblems: { segment: string }[];
}

async function verify(...args: string[]): Promise<{ code: number; report: Report; stderr: string }> {
  const r = await dtar(['verify', '--json', ...args], { env: f.env, inProcess: true });
  return { code: r.code, report: JSON.parse(r.stdout.toString()) as Report, stderr: r.stderr };
}

test('a whole store verifies, with and without reading data, from the index or the stored copies', async () => {
  for (const args of [[f.index], ['--read-data', f.index], [], ['--read-data']]) {
    const r = await verify(...args);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.report.ok, true);
    assert.ok(r.report.files >= 5);
  }
});

/** An offset inside a chunk of a regular file (chunks sit in random order; the archive's tail is chunks too). */
async function offsetInAFile(): Promise<number> {
  for await (const item of readIndex(createReadStream(f.index), f.index, await indexAuth(f.store, f.env.DTAR_PASSWORD!))) {
    const c = item.kind === 'entry' ? item.record?.body.chunks[0] : undefined;
    if (c) return c.offset + 20;
  }
  throw new Error('no file with a body in the fixture');
}

test('a flipped byte is found by --read-data only, with the files it affects', async () => {
  const good = await readFile(brick);
  const bad = Buffer.from(good);
  const at = await offsetInAFile();
  bad[at] = bad[at]! ^ 1;
  await writeFile(brick, bad);
  try {
    assert.equal((await verify(f.index)).code, 0, 'same size: the quick check cannot see it');
    const r = await verify('--read-data', f.index);
    assert.equal(r.code, 1);
    assert.equal(r.report.ok, false);
    assert.deepEqual(r.report.brickProblems, [{ brick: brickHex, problem: 'contents do not match its name (damaged or truncated)' }]);
    const paths = r.report.fileProblems.map((p) => p.path);
    assert.ok(paths.length > 0);
    assert.match(r.stderr, /^dtar: damage found: \d+ files affected, 1 bricks, 0 catalogue segments, 0 indexes\n$/);
    // The chunk holding that byte fails for the files using it.
    const affected = r.report.fileProblems.find((p) => p.problem.includes('authentication failed'));
    assert.ok(affected, JSON.stringify(r.report.fileProblems));
    const cat = await dtar(['cat', f.index, affected.path], { env: f.env, inProcess: true });
    assert.equal(cat.code, 1, `damage never becomes output: ${cat.stderr}`);
    assert.equal(cat.stdout.length, 0);
    assert.match(cat.stderr, /^dtar: .*brick [0-9a-f]{64}: .*authentication failed/);
  } finally {
    await writeFile(brick, good);
  }
});

test('a truncated or missing brick is found without reading data', async () => {
  const good = await readFile(brick);
  await writeFile(brick, good.subarray(0, good.length - 10));
  let r = await verify(f.index);
  assert.equal(r.code, 1);
  assert.match(r.report.brickProblems[0]!.problem, /^has \d+ bytes, the catalogue records \d+ \(truncated or replaced\)$/);
  await rm(brick);
  r = await verify(f.index);
  assert.equal(r.code, 1);
  assert.deepEqual(r.report.brickProblems, [{ brick: brickHex, problem: 'missing from the store' }]);
  assert.ok(r.report.fileProblems.some((p) => p.path === 'dir/sub/random.bin' && p.problem === `in brick ${brickHex}, which is missing from the store`));
  const human = await dtar(['verify', f.index], { env: f.env, inProcess: true });
  assert.match(human.stdout.toString(), new RegExp(`^damaged file ${f.index.replace(/[.]/g, '\\.')}: dir/hello\\.txt: in brick ${brickHex}, which is missing from the store$`, 'm'));
  await writeFile(brick, good);
});

test('a damaged catalogue segment is reported, and repair rebuilds it from the brick tables', async () => {
  const dir = join(f.store, 'catalogue');
  const [segment] = await readdir(dir);
  const good = await readFile(join(dir, segment!));
  const bad = Buffer.from(good);
  bad[bad.length - 1] = bad[bad.length - 1]! ^ 0xff;
  await writeFile(join(dir, segment!), bad);
  const r = await verify(f.index);
  assert.equal(r.code, 1);
  assert.equal(r.report.catalogueProblems.length, 1);
  assert.ok(r.report.fileProblems.some((p) => p.problem === "a chunk is missing from the catalogue (run 'dtar repair')"));
  assert.deepEqual(r.report.brickProblems, [{ brick: brickHex, problem: "not in the catalogue (run 'dtar repair')" }]);

  const dry = await dtar(['repair', '--dry-run', '--json'], { env: f.env, inProcess: true });
  assert.equal(dry.code, 0);
  assert.deepEqual((JSON.parse(dry.stdout.toString()) as { rebuilt: string[] }).rebuilt, [brickHex]);
  assert.ok((await readdir(dir)).includes(segment!), 'a dry run changes nothing');

  const fix = await dtar(['repair'], { env: f.env, inProcess: true });
  assert.equal(fix.code, 0, fix.stderr);
  assert.match(fix.stderr, new RegExp(`^damaged catalogue segment catalogue/${segment!} removed\nrebuilt the catalogue record of brick ${brickHex}\n1 bricks in the store; rebuilt 1 into catalogue/\\S+\n$`));
  assert.ok(!(await readdir(dir)).includes(segment!));
  assert.equal((await verify('--read-data')).code, 0);
  const again = await dtar(['repair'], { env: f.env, inProcess: true });
  assert.equal(again.stderr, 'catalogue complete: all 1 bricks listed\n');
  // Ingest deduplicates against the rebuilt catalogue.
  const ing = await dtar(['ingest', f.tar, '-o', join(f.dir, 'again.index.tar'), '--json'], { env: f.env, inProcess: true });
  assert.equal((JSON.parse(ing.stderr) as { newChunks: number }).newChunks, 0);
});

test('an index from another store is a one-line error', async () => {
  const other = { ...f.env, DTAR_STORE: join(f.dir, 'other-store') };
  assert.equal((await dtar(['init'], { env: other, inProcess: true })).code, 0);
  const r = await dtar(['verify', f.index], { env: other, inProcess: true });
  assert.equal(r.code, 3);
  assert.match(r.stderr, /^dtar: .* belongs to store [0-9a-f]{8} \(.*\), not to the store opened \([0-9a-f]{8}\)\n$/);
});
