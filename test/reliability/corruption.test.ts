/**
 * Corruption never turns into wrong bytes. A flipped byte in a brick, a truncated brick, a
 * missing brick: `dtar restore` fails with one line naming the file and the brick, exit 1,
 * and what it wrote before failing is a prefix of the original tar; `dtar verify
 * --read-data` finds each and names the brick. A lost catalogue (every segment gone) is
 * reported by verify and rebuilt by `dtar repair`, after which ingest deduplicates and
 * restore works. A damaged or truncated index tar (a flipped byte in every block, cuts at
 * many places) either restores the exact original or fails with a typed error, never
 * writing a byte that differs from the original.
 * (test/verify covers verify's report format and the damaged-segment repair; not repeated.)
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { DtarError } from '../../src/errors';
import { Repository } from '../../src/repo/repository';
import { restoreTar } from '../../src/restore/restore';
import { LocalBackend } from '../../src/store/local';
import { dtar, ok, testStore, type TestStore } from '../support/dtar';
import { assertOneLineError, walk } from './support';
import { randomTar, Rng, seedFromEnv } from '../support/random';

const PASSPHRASE = 'corruption passphrase';

interface Report {
  ok: boolean;
  brickProblems: { brick: string; problem: string }[];
  fileProblems: { path: string; problem: string }[];
  catalogueProblems: unknown[];
}

/** Asserts `out` is a prefix of `original`: nothing wrong was written before a failure. */
function assertPrefix(out: Buffer, original: Buffer, what: string): void {
  assert.ok(out.length <= original.length && out.equals(original.subarray(0, out.length)), `${what}: the ${out.length} bytes written before the failure are the original's`);
}

describe('damaged bricks and catalogue', () => {
  let s: TestStore;
  let tar: string;
  let original: Buffer;
  let index: string;
  let bricks: string[];

  before(async () => {
    s = await testStore(PASSPHRASE);
    tar = await randomTar(s.dir, { docs: [300_000, 1_400_000, 20], media: [2_600_000] });
    original = await readFile(tar);
    ok(await dtar(['init', '--brick-size', '1M', '--quiet'], { env: s.env }), 'init');
    index = join(s.dir, 'backup.idx');
    ok(await dtar(['ingest', tar, '-o', index, '--quiet'], { env: s.env }), 'ingest');
    bricks = (await walk(s.store)).filter((f) => f.startsWith('bricks/'));
    assert.ok(bricks.length >= 2, `several bricks (${bricks.length})`);
  });
  after(() => s.cleanup());

  /** Damages one brick, then checks restore and verify --read-data; puts the brick back. */
  async function withDamagedBrick(n: number, damage: (good: Buffer) => Buffer | null, restoreMessage: RegExp, verifyProblem: RegExp): Promise<void> {
    const brick = bricks[n % bricks.length]!;
    const file = join(s.store, brick);
    const hex = brick.split('/').at(-1)!;
    const good = await readFile(file);
    const bad = damage(good);
    if (bad === null) await rm(file);
    else await writeFile(file, bad);
    try {
      const r = await dtar(['restore', index], { env: s.env });
      assertOneLineError(r, 1, restoreMessage, 'restore');
      // Chunks sit in a brick in random order: the damage may hit the archive's tail, which is stored as chunks too.
      assert.match(r.stderr, new RegExp(`^dtar: ((docs|media)/f\\d+|\\(end of archive\\)): .*${hex}`), 'the message names the file, then the brick');
      assertPrefix(r.stdout, original, 'restore');

      const out = join(s.dir, 'restored.tar');
      const toFile = await dtar(['restore', index, '-o', out], { env: s.env });
      assert.equal(toFile.code, 1);
      await assert.rejects(readFile(out), 'restore -o publishes nothing when it fails');

      const v = await dtar(['verify', '--read-data', '--json', index], { env: s.env });
      assert.equal(v.code, 1, v.stderr);
      const report = JSON.parse(v.stdout.toString()) as Report;
      assert.equal(report.ok, false);
      assert.equal(report.brickProblems.length, 1);
      assert.equal(report.brickProblems[0]!.brick, hex);
      assert.match(report.brickProblems[0]!.problem, verifyProblem);
      assert.ok(report.fileProblems.length >= 1 && report.fileProblems.every((p) => /^((docs|media)\/f\d+|\(end of archive\))$/.test(p.path)), `names the files affected: ${JSON.stringify(report.fileProblems)}`);
    } finally {
      await writeFile(file, good, { mode: 0o600 });
    }
    assert.ok(ok(await dtar(['restore', index], { env: s.env }), 'restore after repair of the brick').stdout.equals(original));
  }

  test('a flipped byte in a brick', async () => {
    // In the middle of the chunk data, not in the table: the chunk's authentication fails.
    await withDamagedBrick(1, (g) => {
      const b = Buffer.from(g);
      b[Math.floor(b.length / 3)]! ^= 0x40;
      return b;
    }, /failed authentication|damaged|corrupt|do not match/i, /do not match its name/);
  });

  test('a truncated brick', async () => {
    await withDamagedBrick(2, (g) => g.subarray(0, g.length - 1000), /truncated|damaged|corrupt/i, /truncated/);
  });

  test('a brick cut to half its size', async () => {
    // The largest brick: halving the last, tiny one (one small chunk, then its table) can
    // leave every chunk the restore needs intact, and restore then rightly succeeds.
    const sizes = await Promise.all(bricks.map(async (b) => (await stat(join(s.store, b))).size));
    const largest = sizes.indexOf(Math.max(...sizes));
    await withDamagedBrick(largest, (g) => g.subarray(0, g.length >> 1), /truncated|damaged|corrupt/i, /truncated/);
  });

  test('a missing brick', async () => {
    await withDamagedBrick(3, () => null, /missing from the store/, /missing/);
  });

  test('a lost catalogue is reported, rebuilt by repair, and ingest deduplicates again', async () => {
    const dir = join(s.store, 'catalogue');
    const segments = await readdir(dir);
    assert.ok(segments.length >= 1);
    await rm(dir, { recursive: true });
    await rm(join(s.dir, 'cache'), { recursive: true, force: true }); // and its local cache

    // Restore reads bricks by the index's own references: it does not need the catalogue.
    assert.ok(ok(await dtar(['restore', index], { env: s.env }), 'restore without catalogue').stdout.equals(original));
    const v = await dtar(['verify', '--json', index], { env: s.env });
    assert.equal(v.code, 1);
    const report = JSON.parse(v.stdout.toString()) as Report;
    assert.equal(report.brickProblems.length, bricks.length, 'every brick is reported as not in the catalogue');

    const fix = await dtar(['repair'], { env: s.env });
    assert.equal(fix.code, 0, fix.stderr);
    assert.match(fix.stderr, new RegExp(`${bricks.length} bricks in the store; rebuilt ${bricks.length} into catalogue/`));
    assert.equal((await dtar(['verify', '--read-data'], { env: s.env })).code, 0);
    const again = JSON.parse(ok(await dtar(['ingest', tar, '-o', join(s.dir, 'again.idx'), '--json'], { env: s.env }), 'ingest').stderr) as { newChunks: number; bricks: number };
    assert.equal(again.newChunks, 0, 'the rebuilt catalogue knows every chunk');
    assert.equal(again.bricks, 0);
    assert.ok(ok(await dtar(['restore', join(s.dir, 'again.idx')], { env: s.env }), 'restore').stdout.equals(original));
  });
});

describe('damaged and truncated index tars', () => {
  const seed = seedFromEnv();
  let s: TestStore;
  let repo: Repository;
  let original: Buffer;
  let indexBytes: Buffer;

  before(async () => {
    s = await testStore(PASSPHRASE);
    // Small files and long names: many headers, PAX records and body records per block.
    const dirs: Record<string, number[]> = {};
    for (let d = 0; d < 4; d++) dirs[`dir${d}-${'n'.repeat(90)}`] = [0, 1, 700, 5000, 70_000];
    const tar = await randomTar(s.dir, dirs);
    original = await readFile(tar);
    ok(await dtar(['init', '--quiet'], { env: s.env }), 'init');
    const index = join(s.dir, 'small.idx');
    ok(await dtar(['ingest', tar, '-o', index, '--quiet'], { env: s.env }), 'ingest');
    indexBytes = await readFile(index);
    repo = await Repository.open(new LocalBackend(s.store), PASSPHRASE, null);
  });
  after(() => s.cleanup());

  /** Restores from `idx` in-process; returns what was written and the error, if any. */
  async function restoreFrom(idx: Buffer): Promise<{ out: Buffer; error: unknown }> {
    const parts: Buffer[] = [];
    try {
      await restoreTar(repo, { where: 'index', open: () => Readable.from([idx]), auth: repo.indexAuth }, async (pieces) => void parts.push(...pieces.map((b) => Buffer.from(b))));
      return { out: Buffer.concat(parts), error: null };
    } catch (error) {
      return { out: Buffer.concat(parts), error };
    }
  }

  function check(r: { out: Buffer; error: unknown }, what: string): void {
    if (r.error === null) {
      assert.ok(r.out.equals(original), `${what}: a restore that succeeds gives the original`);
      return;
    }
    assert.ok(r.error instanceof DtarError, `${what}: a typed error, not ${String(r.error)}`);
    assertPrefix(r.out, original, what);
  }

  test('the intact index restores', async () => {
    const r = await restoreFrom(indexBytes);
    assert.equal(r.error, null);
    assert.ok(r.out.equals(original));
  });

  test(`a flipped byte anywhere in the index never yields wrong bytes (DTAR_SEED=${seed})`, async () => {
    const rng = new Rng(seed);
    const blocks = indexBytes.length / 512;
    for (let b = 0; b < blocks; b++) {
      const at = b * 512 + rng.int(512);
      const bad = Buffer.from(indexBytes);
      bad[at]! ^= 1 << rng.int(8);
      const r = await restoreFrom(bad);
      check(r, `byte ${at} flipped`);
      if (r.error !== null) assert.equal(r.out.length, 0, `byte ${at} flipped: a damaged index is refused before anything is written`);
    }
  });

  test('a damaged PAX record: restore refuses it in one line, verify reports it', async () => {
    // The mtime record of the first file: a digit changed, which no tar checksum covers.
    const at = indexBytes.indexOf(' mtime=', 1024) + 8;
    assert.ok(at > 8);
    const bad = Buffer.from(indexBytes);
    bad[at] = bad[at] === 0x31 ? 0x32 : 0x31;
    const file = join(s.dir, 'damaged.idx');
    await writeFile(file, bad);
    const r = await dtar(['restore', file], { env: s.env });
    assertOneLineError(r, 2, /damaged\.idx is damaged: its contents do not match the checksum in its trailer; .*'dtar archives get ID -o FILE'/, 'restore');
    assert.equal(r.stdout.length, 0, 'nothing written');
    const v = await dtar(['verify', file], { env: s.env });
    assert.notEqual(v.code, 0);
    assert.match(v.stdout.toString() + v.stderr, /damaged\.idx.*checksum in its trailer/);
    // The way out the message gives: the store's copy of the index restores the original.
    const [stored] = JSON.parse(ok(await dtar(['archives', '--json'], { env: s.env }), 'archives').stdout.toString()) as { id: string }[];
    const recovered = join(s.dir, 'recovered.idx');
    ok(await dtar(['archives', 'get', stored!.id, '-o', recovered], { env: s.env }), 'archives get');
    const back = ok(await dtar(['restore', recovered], { env: s.env }), 'restore of the recovered index');
    assert.ok(back.stdout.equals(original), 'the recovered index restores the original');
  });

  test('a truncated index fails as truncated and writes nothing', async () => {
    const trailerEnd = indexBytes.length - 1024; // the two zero blocks after the trailer
    const cuts = [0, 1, 511, 512, 513, 1024, indexBytes.length >> 2, indexBytes.length >> 1, trailerEnd - 512, trailerEnd - 1];
    for (const cut of cuts) {
      const r = await restoreFrom(indexBytes.subarray(0, cut));
      assert.ok(r.error instanceof DtarError, `cut at ${cut}: ${String(r.error)}`);
      assert.equal(r.out.length, 0, `cut at ${cut}: nothing is written from a truncated index`);
    }
    // Cut only in its end-of-archive blocks, the index is complete (as for tar itself).
    for (const cut of [trailerEnd, trailerEnd + 512, indexBytes.length - 1]) check(await restoreFrom(indexBytes.subarray(0, cut)), `cut at ${cut}`);
    // And through the CLI: one line, exit 2.
    const file = join(s.dir, 'cut.idx');
    await writeFile(file, indexBytes.subarray(0, indexBytes.length >> 1));
    const r = await dtar(['restore', file], { env: s.env });
    assertOneLineError(r, 2, /truncated/, 'restore of a cut index');
    assert.equal(r.stdout.length, 0);
  });
});
