/**
 * Stored index copies as someone with write access to the store would misuse them (issue 20
 * §3): an old copy stored again under a later name must not be served as the newest, and
 * the header of one copy with the segments of another must not authenticate. Both with
 * copies of today's format and with the format-v1 copies of test/fixtures/format-v1.
 */
import assert from 'node:assert/strict';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { indexCopyHeadLength } from '../../src/index/copy';
import { dtar, ok, testStore, type TestStore } from '../support/dtar';
import { assertOneLineError } from './support';
import { randomTar } from '../support/random';

const FIXTURE = resolve(__dirname, '../../../test/fixtures/format-v1');
const REPLAYED = 'indexes/29991231T000000Z-000000000000';

/** The stored copies, oldest first by their (real) names. */
async function copies(store: string): Promise<string[]> {
  return (await readdir(join(store, 'indexes'))).sort().map((n) => `indexes/${n}`);
}

async function archivesGet(s: TestStore, name: string): Promise<Buffer> {
  const out = join(s.dir, 'got.idx');
  ok(await dtar(['archives', 'get', name, '-o', out, '--quiet'], { env: s.env }), `archives get ${name}`);
  return readFile(out);
}

describe('stored index copies', () => {
  let s: TestStore;
  let older: string;
  let newer: string;

  before(async () => {
    s = await testStore();
    ok(await dtar(['init', '--quiet'], { env: s.env }), 'init');
    older = join(s.dir, 'older.idx');
    newer = join(s.dir, 'newer.idx');
    ok(await dtar(['ingest', await randomTar(s.dir, { d: [1000] }, 'a.tar'), '--name', 'nightly', '-o', older, '--quiet'], { env: s.env }), 'ingest 1');
    ok(await dtar(['ingest', await randomTar(s.dir, { e: [2000] }, 'b.tar'), '--name', 'nightly', '-o', newer, '--quiet'], { env: s.env }), 'ingest 2');
  });
  after(() => s.cleanup());

  test('an old copy stored again under a later name: archives get NAME still serves the newest', async () => {
    assert.ok((await archivesGet(s, 'nightly')).equals(await readFile(newer)));
    // The older copy, by its sealed time (two ingests in one second have names that sort either way).
    const before = JSON.parse(ok(await dtar(['archives', '--json'], { env: s.env }), 'archives').stdout.toString()) as { id: string }[];
    const first = `indexes/${before[0]!.id}`;
    await cp(join(s.store, first), join(s.store, REPLAYED));
    assert.ok((await archivesGet(s, 'nightly')).equals(await readFile(newer)), 'the replayed copy is not taken for the newest');
    const listed = JSON.parse(ok(await dtar(['archives', '--json'], { env: s.env }), 'archives').stdout.toString()) as { id: string; created: string }[];
    assert.deepEqual(
      listed.map((r) => r.created),
      [...listed.map((r) => r.created)].sort(),
      'archives lists by the sealed creation time',
    );
    assert.notEqual(listed[listed.length - 1]!.id, REPLAYED.slice('indexes/'.length));
  });

  test("the header of one copy with another copy's segments is refused", async () => {
    const [a, b] = (await copies(s.store)).filter((k) => k !== REPLAYED);
    const bytesA = await readFile(join(s.store, a!));
    const bytesB = await readFile(join(s.store, b!));
    const spliced = Buffer.concat([bytesA.subarray(0, indexCopyHeadLength(bytesA, a!)), bytesB.subarray(indexCopyHeadLength(bytesB, b!))]);
    const key = 'indexes/20000101T000000Z-5911ced00000';
    await writeFile(join(s.store, key), spliced);
    const r = await dtar(['archives', 'get', key.slice('indexes/'.length), '-o', join(s.dir, 'spliced.idx')], { env: s.env });
    assertOneLineError(r, 1, /segment 1: authentication failed/, 'archives get of a spliced copy');
  });
});

describe('format-v1 copies', () => {
  let s: TestStore;

  before(async () => {
    s = await testStore('fixture');
    await cp(join(FIXTURE, 'store'), s.store, { recursive: true });
  });
  after(() => s.cleanup());

  test('still read, and are ordered by their sealed time too', async () => {
    assert.ok((await archivesGet(s, 'old')).equals(await readFile(join(FIXTURE, 'old-2.index.tar'))));
    // The older copy, by its sealed time (two ingests in one second have names that sort either way).
    const before = JSON.parse(ok(await dtar(['archives', '--json'], { env: s.env }), 'archives').stdout.toString()) as { id: string }[];
    const first = `indexes/${before[0]!.id}`;
    await cp(join(s.store, first), join(s.store, REPLAYED));
    assert.ok((await archivesGet(s, 'old')).equals(await readFile(join(FIXTURE, 'old-2.index.tar'))), 'the replayed v1 copy is not taken for the newest');
    assert.ok((await archivesGet(s, first!.slice('indexes/'.length))).equals(await readFile(join(FIXTURE, 'old-1.index.tar'))), 'by id, the old one');
  });
});
