/**
 * Hostile PAX headers: huge global headers (their records are resolved once, not merged again
 * for every entry), headers of a million records (no spread of them onto the stack), many
 * extension headers before one entry (bounded in all), keys no encoder would write. The reader
 * directly, and the real CLI: ingest, ls and restore byte for byte, or a one-line refusal.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeHeader, paxHeaderBlocks } from '../../src/tar/header';
import { DEFAULT_TAR_LIMITS } from '../../src/tar/types';
import { assertOneLineError } from '../reliability/support';
import { END, extension, file, ingestCrafted, record, roundTrip } from '../support/crafted';
import { dtar, ok, testStore, type TestStore } from '../support/dtar';
import { chunked, readAll } from './collect';
import { gnuList } from './gnu';

/** `count` records no tar interprets. */
function manyRecords(count: number): [string, Buffer][] {
  const records: [string, Buffer][] = [];
  for (let i = 0; i < count; i++) records.push([`k${i.toString(36)}`, Buffer.from('v')]);
  return records;
}

let bigGlobal: Buffer | undefined;

/** The input, with `entries` after the global header of 300,000 records (made once: it takes a while). */
function bigGlobalArchive(entries: Buffer[]): Buffer {
  bigGlobal ??= paxHeaderBlocks(manyRecords(300_000), 'pax_global_header', 'g');
  return Buffer.concat([bigGlobal, ...entries, END]);
}

const smallFiles = (n: number): Buffer[] => Array.from({ length: n }, (_, i) => file(`f${i}`, `file ${i}\n`));

describe('the tar reader on hostile PAX headers', () => {
  it('resolves a global header once: the entries under it share its records, none copies them', async () => {
    const { items } = await readAll(chunked(bigGlobalArchive(smallFiles(100)), 1 << 20));
    const headers = items.flatMap((i) => (i.header ? [i.header] : []));
    assert.equal(headers.length, 100);
    const shared = headers[0]!.pax;
    assert.equal(shared.size, 300_000);
    assert.equal(shared.get('k0')?.toString(), 'v');
    for (const h of headers) {
      assert.equal(h.pax, shared, `${h.path} holds the global records themselves, not a merged copy`);
      assert.equal(h.xattrs, headers[0]!.xattrs);
    }
  });

  it("reads an entry's own records over a large global header as one map", async () => {
    const input = bigGlobalArchive([
      Buffer.concat([paxHeaderBlocks([['uname', Buffer.from('own')], ['k0', Buffer.from('')], ['SCHILY.xattr.user.a', Buffer.from('A')]], 'x'), file('own', 'x')]),
    ]);
    const { items } = await readAll(chunked(input, 1 << 20));
    const h = items[1]!.header!;
    assert.equal(h.uname, 'own');
    assert.equal(h.pax.get('k1')?.toString(), 'v');
    assert.equal(h.pax.has('k0'), false, 'an empty value undoes the global record for this entry');
    assert.equal(h.pax.size, 300_000 - 1 + 2);
    assert.equal([...h.pax.keys()].length, h.pax.size);
    assert.deepEqual([...h.xattrs], [['user.a', Buffer.from('A')]]);
  });

  it('applies the last global header alone, and the last extended header before an entry alone, as GNU tar does', async () => {
    const input = Buffer.concat([
      paxHeaderBlocks([['uid', Buffer.from('11')], ['gid', Buffer.from('12')]], 'g', 'g'),
      file('a', 'A'),
      paxHeaderBlocks([['gid', Buffer.from('22')]], 'g', 'g'),
      file('b', 'B'),
      paxHeaderBlocks([['path', Buffer.from('renamed')], ['uid', Buffer.from('31')]], 'x'),
      paxHeaderBlocks([['uid', Buffer.from('32')]], 'x'),
      file('c', 'C'),
      END,
    ]);
    const gnu = await gnuList(input);
    assert.equal(gnu.code, 0, gnu.stderr);
    const owners = (lines: string[]): string[] => lines.map((l) => `${l.split(' ')[0]} ${l.split(' ').at(-1)}`);
    assert.deepEqual(owners(gnu.lines), ['11/12 a', '0/22 b', '32/22 c']);
    const { items, reassembled } = await readAll(chunked(input, 4096));
    assert.ok(reassembled.equals(input));
    assert.deepEqual(items.flatMap((i) => (i.header ? [`${i.header.uid}/${i.header.gid} ${i.header.path}`] : [])), owners(gnu.lines));
  });
});

describe('dtar ingest, ls and restore of hostile PAX headers', () => {
  let s: TestStore;
  before(async () => {
    s = await testStore();
    ok(await dtar(['init'], { env: s.env }), 'init');
  });
  after(() => s.cleanup());

  it('takes a global header of 300,000 records before 100 files, and gives it back byte for byte', async () => {
    const input = bigGlobalArchive(smallFiles(100));
    const r = await roundTrip(s, 'big-global', input);
    assert.ok(r.restored.equals(input));
    assert.deepEqual(r.listed, smallFiles(100).map((_, i) => `f${i}`));
  });

  it('keeps the index of entries rewritten under a large global header small: it does not copy the global records into each', async () => {
    // PAX size records make each entry "raw" in the index: a fresh extended header of its own records.
    const sized = Array.from({ length: 20 }, (_, i) => Buffer.concat([paxHeaderBlocks([['size', Buffer.from('2')]], 'x'), encodeHeader({ name: `s${i}`, mode: 0o644 }), Buffer.from('s\n'), Buffer.alloc(510)]));
    const input = bigGlobalArchive(sized);
    const r = await roundTrip(s, 'sized-under-global', input);
    assert.ok(r.restored.equals(input));
    assert.equal(r.listed.length, 20);
    assert.ok(r.indexSize < 2 * input.length, `index of ${r.indexSize} bytes for an input of ${input.length}`);
  });

  it('takes an extended header of a million records, and gives it back byte for byte', async () => {
    const body = Buffer.from('6 c=v\n'.repeat(1_000_000));
    const input = Buffer.concat([extension(body), file('after', 'data\n'), END]);
    const r = await roundTrip(s, 'million-records', input);
    assert.ok(r.restored.equals(input));
    assert.deepEqual(r.listed, ['after']);
  });

  it('carries over an own record whose key holds a newline when it rewrites the entry', async () => {
    const input = Buffer.concat([extension(Buffer.concat([record('a\nb', 'x'), record('size', '2')])), encodeHeader({ name: 'f', mode: 0o644 }), Buffer.from('F\n'), Buffer.alloc(510), END]);
    assert.equal((await gnuList(input)).code, 0);
    const r = await roundTrip(s, 'newline-key', input);
    assert.ok(r.restored.equals(input));
    assert.deepEqual(r.listed, ['f']);
  });

  it('refuses a PAX header over its bound, and extension headers over theirs in all, with one line and exit 2', async () => {
    const limit = DEFAULT_TAR_LIMITS.maxPaxSize;
    const tooBig = Buffer.concat([extension(Buffer.alloc(limit + 1)), file('f', 'F'), END]);
    assertOneLineError(await ingestCrafted(s, 'pax-too-big', tooBig), 2, new RegExp(`PAX header of ${limit + 1} bytes is over the limit of ${limit}`));
    // Each under its own bound; together over the bound of all of an entry's extension headers.
    const six = extension(Buffer.from('6 c=v\n'.repeat(1_000_000)));
    const many = Buffer.concat([six, six, six, file('f', 'F'), END]);
    assertOneLineError(await ingestCrafted(s, 'extensions-too-big', many), 2, new RegExp(`extension headers before one entry hold more than the limit of ${DEFAULT_TAR_LIMITS.maxExtensionBytes} bytes`));
  });
});
