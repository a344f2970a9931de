/**
 * indexFileBytes hands readIndex pieces of two reused buffers. If readIndex (or the tar
 * reader under it) kept a view of a piece instead of a copy, later reads would overwrite
 * what it handed out: so every item read in small reused pieces must equal the item read
 * from the whole index in one buffer, for indexes of real GNU tar and bsdtar archives.
 * And an index that is not a regular file (a pipe) is refused up front, not read as damaged.
 * The entry count a mount sizes its tables by is read from the trailer at the file's end.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { UsageError } from '../../src/errors';
import { indexFileBytes, plausibleEntryCount, readTrailerAtEnd } from '../../src/index/file';
import { IndexItem, readIndex } from '../../src/index/reader';
import { buildCorpus, defaultCorpusDir } from '../fixtures/corpus';
import { dtar, testStore, type TestStore } from '../support/dtar';
import { indexAuth } from '../support/index-auth';
import type { IndexAuth } from '../../src/index/seal';

let tmp: TestStore;
let auth: IndexAuth;
const indexes: string[] = [];

before(async () => {
  tmp = await testStore('pieces');
  const env = tmp.env;
  assert.equal((await dtar(['init', '--quiet'], { env, inProcess: true })).code, 0);
  const corpus = await buildCorpus(defaultCorpusDir());
  for (const a of corpus.archives) {
    const index = join(tmp.dir, `${a.name}.idx`);
    const r = await dtar(['ingest', a.path, '-o', index, '--quiet'], { env, inProcess: true });
    assert.equal(r.code, 0, r.stderr);
    indexes.push(index);
  }
  assert.ok(indexes.length >= 6);
  auth = await indexAuth(tmp.store, 'pieces');
});
after(() => tmp.cleanup());

/** An item with its lazily built parts made plain, for deep comparison. */
function plain(item: IndexItem): unknown {
  if (item.kind !== 'entry') return item;
  return { ...item, original: item.original() };
}

async function collect(source: AsyncIterable<Uint8Array>, where: string): Promise<unknown[]> {
  const items: unknown[] = [];
  for await (const item of readIndex(source, where, auth)) items.push(plain(item));
  return items;
}

test('items read from reused pieces equal the items read from one whole buffer', async () => {
  for (const index of indexes) {
    const whole = await collect(Readable.from([await readFile(index)]), index);
    assert.ok(whole.length > 3, `${index} has entries`);
    // 512: every header in its own piece; 1000 and 4099: blocks split across pieces.
    for (const pieceBytes of [512, 1000, 4099]) {
      assert.deepEqual(await collect(indexFileBytes(index, { pieceBytes }), index), whole, `${index} in pieces of ${pieceBytes}`);
    }
  }
});

test('an aborted read stops with the abort, and a missing file fails to open', async () => {
  const stop = new AbortController();
  const pieces = indexFileBytes(indexes[0]!, { pieceBytes: 512, signal: stop.signal });
  assert.equal((await pieces.next()).done, false);
  stop.abort();
  await assert.rejects(pieces.next(), { name: 'AbortError' });
  await assert.rejects(indexFileBytes(join(tmp.dir, 'missing.idx')).next(), { code: 'ENOENT' });
});

test('a FIFO is refused as an index at once, with a usage error rather than a damaged-index one', async () => {
  const fifo = join(tmp.dir, 'index.fifo');
  execFileSync('mkfifo', [fifo]);
  // No writer ever opens it: opening must not wait for one.
  await assert.rejects(indexFileBytes(fifo).next(), (e: unknown) => e instanceof UsageError && /not a regular file/.test(e.message));
  const r = await dtar(['ls', fifo], { env: { DTAR_PASSWORD: 'pieces', DTAR_STORE: tmp.store, HOME: tmp.dir }, inProcess: true });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /is not a regular file: dtar reads an index more than once/);
});

test("the trailer's entry count is read from the file's end, and only where it is whole", async () => {
  for (const index of indexes) {
    let meta: { tag: string } | null = null;
    let entries = 0;
    let stated: number | null = null;
    for await (const item of readIndex(indexFileBytes(index), index, auth)) {
      if (item.kind === 'meta') meta = item.meta;
      else if (item.kind === 'entry') entries++;
      else if (item.kind === 'trailer') stated = item.trailer.entries;
    }
    assert.equal(stated, entries, `${index}: the trailer counts every entry`);
    const found = await readTrailerAtEnd(index, meta!.tag);
    assert.equal(plausibleEntryCount(found), entries, index);
    assert.ok(found?.trailer.seal, `${index}: the trailer read from the end has its MAC`);
    assert.equal(await readTrailerAtEnd(index, 'another-tag'), null, `${index}: another index's trailer is not taken`);
  }
  const bytes = await readFile(indexes[0]!);
  const tag = await tagOf(indexes[0]!);
  // The trailer's header stays; its record block and the two zero blocks after it go.
  const cut = join(tmp.dir, 'cut.idx');
  await writeFile(cut, bytes.subarray(0, bytes.length - 1536));
  assert.equal(await readTrailerAtEnd(cut, tag), null, 'an index cut before its trailer has none');
  assert.equal(await readTrailerAtEnd(join(tmp.dir, 'missing.idx'), tag), null, 'a missing file has none');
});

async function tagOf(index: string): Promise<string> {
  for await (const item of readIndex(indexFileBytes(index), index, auth)) if (item.kind === 'meta') return item.meta.tag;
  throw new Error(`${index}: no meta`);
}
