/**
 * Crafted archives for what the corpus cannot show: header-only types with a size, hard links
 * with a PAX size, entries past 8 GiB, limits, PAX global records, star headers, skipped bodies.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { BadTarError } from '../../src/errors';
import { BLOCK, encodeHeader, paddingFor, paxHeaderBlocks, recomputeChecksum } from '../../src/tar/header';
import type { HeaderFields } from '../../src/tar/header';
import { readTar } from '../../src/tar/reader';
import type { TarEntry, TarHeader } from '../../src/tar/types';
import { buildCorpus, defaultCorpusDir } from '../fixtures/corpus';
import { chunked, readAll } from './collect';

const run = promisify(execFile);
const END = Buffer.alloc(2 * BLOCK);

function entry(fields: HeaderFields, body: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([encodeHeader({ mode: 0o644, size: body.length, ...fields }), body, Buffer.alloc(paddingFor(body.length))]);
}

async function corpusArchive(name: string): Promise<Buffer> {
  const corpus = await buildCorpus(defaultCorpusDir());
  return fs.readFile(corpus.archives.find((a) => a.name === name)?.path ?? '');
}

async function rejects(input: Buffer, pattern: RegExp, limits = {}, what = ''): Promise<void> {
  await assert.rejects(readAll(chunked(input, 4096), { limits }), (e: unknown) => e instanceof BadTarError && pattern.test(e.message), what);
}

test('header-only types ignore their size field, as GNU tar extracts them and libarchive reads them', async () => {
  // The "body" is itself a valid header: whoever skips it lists 'after', whoever doesn't lists 'inner'.
  const fake = Buffer.concat([encodeHeader({ name: 'inner', mode: 0o644 }), Buffer.alloc(BLOCK)]);
  for (const typeflag of ['1', '2', '3', '4', '5', '6']) {
    const input = Buffer.concat([encodeHeader({ name: `t${typeflag}`, typeflag, size: 1024, linkname: 'target' }), fake, entry({ name: 'after' }), END]);
    const { items, reassembled } = await readAll(chunked(input, 100));
    assert.ok(reassembled.equals(input));
    const names = items.flatMap((i) => (i.header ? [i.header.path] : []));
    assert.deepEqual(names.slice(0, 2), [`t${typeflag}`, 'inner'], `typeflag ${typeflag}`);
    assert.equal(items[0]?.bodySize, 0);
    // bsdtar agrees (GNU tar's -t alone skips the size for all but directories and hard links).
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'dtar-headeronly-'));
    await fs.writeFile(path.join(dir, 'a.tar'), input);
    const { stdout } = await run('bsdtar', ['-t', '-f', path.join(dir, 'a.tar')]).catch((e: { stdout: string }) => e);
    assert.deepEqual(stdout.split('\n').slice(0, 2), [`t${typeflag}`, 'inner'], `bsdtar, typeflag ${typeflag}`);
    await fs.rm(dir, { recursive: true });
  }
});

test('a hard link has a body only when a PAX size record gives one', async () => {
  const body = Buffer.from('link data');
  const input = Buffer.concat([
    paxHeaderBlocks([['size', Buffer.from(String(body.length))]], 'PaxHeaders/link'),
    encodeHeader({ name: 'link', typeflag: '1', linkname: 'target', size: 0 }),
    body, Buffer.alloc(paddingFor(body.length)), END,
  ]);
  const { items, reassembled, bodies } = await readAll(chunked(input, 4096), { keepBodies: true });
  assert.ok(reassembled.equals(input));
  assert.equal(items[0]?.bodySize, body.length);
  assert.equal(items[0]?.header?.type, 'hardlink');
  assert.equal(bodies.get(0)?.toString(), 'link data');
  const first = await readTar(chunked(input, 4096)).next();
  assert.ok(!first.done && first.value.kind === 'entry' && first.value.paxSize);
});

test('an entry over 8 GiB (base-256 size) is announced with its size and fails only when cut short', async () => {
  const size = 9 * 1024 ** 3 + 1;
  const reader = readTar(chunked(Buffer.concat([encodeHeader({ name: 'huge.bin', size }), Buffer.alloc(4096, 1)]), 4096));
  const first = await reader.next();
  assert.ok(!first.done && first.value.kind === 'entry');
  assert.equal(first.value.bodySize, size);
  assert.equal(first.value.paxSize, false);
  await assert.rejects(reader.next(), (e: unknown) => e instanceof BadTarError && /truncated archive: input ends inside an entry body/.test(e.message) && e.offset === BLOCK + 4096);
  // The PAX way of saying the same.
  const pax = readTar(chunked(Buffer.concat([paxHeaderBlocks([['size', Buffer.from(String(size))]], 'p'), encodeHeader({ name: 'huge.bin' })]), 4096));
  const viaPax = await pax.next();
  assert.ok(!viaPax.done && viaPax.value.kind === 'entry' && viaPax.value.bodySize === size && viaPax.value.paxSize);
});

test('limits on PAX headers, long names, sparse maps and extension headers are enforced', async () => {
  await rejects(await corpusArchive('posix.tar'), /PAX header of \d+ bytes is over the limit of 16/, { maxPaxSize: 16 });
  await rejects(await corpusArchive('gnu.tar'), /GNU long name of \d+ bytes is over the limit of 50/, { maxLongNameSize: 50 });
  for (const name of ['gnu-sparse.tar', 'pax-sparse-0.0.tar', 'pax-sparse-0.1.tar', 'pax-sparse-1.0.tar', 'bsdtar.tar']) {
    await rejects(await corpusArchive(name), /sparse map has .*limit of 2/, { maxSparseEntries: 2 }, name);
  }
  const longName = entry({ name: '././@LongLink', typeflag: 'L' }, Buffer.from('name\0'));
  await rejects(Buffer.concat([...Array<Buffer>(65).fill(longName), entry({ name: 'x' }), END]), /more than 64 extension headers/);
  const ok = await readAll(chunked(Buffer.concat([...Array<Buffer>(64).fill(longName), entry({ name: 'x' }), END]), 4096));
  assert.equal(ok.items[0]?.header?.path, 'name');
});

test('a PAX global header applies until the next one replaces it; an empty local value undoes one record', async () => {
  const input = Buffer.concat([
    paxHeaderBlocks([['uname', Buffer.from('global-user')], ['comment', Buffer.from('hi')]], 'g', 'g'),
    entry({ name: 'a', uname: 'header-user' }),
    paxHeaderBlocks([['uname', Buffer.from('')]], 'x'),
    entry({ name: 'b', uname: 'header-user' }),
    paxHeaderBlocks([['comment', Buffer.from('bye')]], 'g', 'g'),
    entry({ name: 'c' }),
    END,
  ]);
  const { items, reassembled } = await readAll(chunked(input, 4096));
  assert.ok(reassembled.equals(input));
  assert.deepEqual(items.map((i) => i.kind), ['global', 'entry', 'entry', 'global', 'entry', 'end']);
  const [a, b, c] = items.flatMap((i) => (i.header ? [i.header] : []));
  assert.equal(a?.uname, 'global-user');
  assert.equal(a?.pax.get('comment')?.toString(), 'hi');
  // An empty local value undoes the global one for that entry only.
  assert.equal(b?.uname, 'header-user');
  assert.equal(b?.pax.get('comment')?.toString(), 'hi');
  // The second global header replaced the first (GNU tar's reading; hostile-headers.test.ts compares).
  assert.equal(c?.pax.get('comment')?.toString(), 'bye');
  assert.equal(c?.uname, '');
});

test('each header field a PAX global header can set applies alone to the entries after it', async () => {
  // One record at a time: the reader looks up header fields only under global headers that set one.
  const cases: [string, string, (h: TarHeader) => unknown, unknown][] = [
    ['path', 'renamed', (h) => h.path, 'renamed'],
    ['GNU.sparse.name', 'sparse-name', (h) => h.path, 'sparse-name'],
    ['linkpath', 'target', (h) => h.linkpath, 'target'],
    ['uid', '1234', (h) => h.uid, 1234],
    ['gid', '4321', (h) => h.gid, 4321],
    ['uname', 'someone', (h) => h.uname, 'someone'],
    ['gname', 'group', (h) => h.gname, 'group'],
    ['mtime', '1000.5', (h) => h.mtime, 1000.5],
    ['atime', '2000', (h) => h.atime, 2000],
    ['ctime', '3000', (h) => h.ctime, 3000],
  ];
  for (const [key, value, field, expected] of cases) {
    const input = Buffer.concat([paxHeaderBlocks([[key, Buffer.from(value)]], 'g', 'g'), entry({ name: 'a', typeflag: '2', linkname: 'l' }), END]);
    const { items } = await readAll(chunked(input, 4096));
    const [a] = items.flatMap((i) => (i.header ? [i.header] : []));
    assert.equal(a && field(a), expected, key);
  }
});

test('LIBARCHIVE.xattr names are percent-decoded and values base64-decoded', async () => {
  const value = Buffer.from([0, 1, 2, 0xff]);
  const input = Buffer.concat([
    paxHeaderBlocks([['LIBARCHIVE.xattr.user.with%3Dequals', Buffer.from(value.toString('base64').replace(/=+$/, ''))]], 'x'),
    entry({ name: 'f' }),
    END,
  ]);
  const { items } = await readAll(chunked(input, 4096));
  assert.deepEqual([...(items[0]?.header?.xattrs ?? [])], [['user.with=equals', value]]);
});

test('star headers keep their 131-byte prefix and atime/ctime; v7 names ending in / are directories', async () => {
  const star = encodeHeader({ name: `${'s'.repeat(100)}/file`, mtime: 100 });
  star.write('00000000144 00000000310 ', 476, 'latin1');
  recomputeChecksum(star);
  const v7 = encodeHeader({ name: 'olddir/' });
  v7.fill(0, 257, 265);
  recomputeChecksum(v7);
  const { items } = await readAll(chunked(Buffer.concat([star, v7, END]), 4096));
  const [s, v] = items.flatMap((i) => (i.header ? [i.header] : []));
  assert.equal(s?.path, `${'s'.repeat(100)}/file`);
  assert.equal(s?.atime, 0o144);
  assert.equal(s?.ctime, 0o310);
  assert.equal(v?.type, 'directory');
  assert.equal(v?.uname, '');
});

test('unread bodies are skipped, padding() is valid after, and a body reads only once', async () => {
  const input = await corpusArchive('ustar.tar');
  const full = await readAll(chunked(input, 333));
  const seen: { offset: number; padding: string }[] = [];
  const reader = readTar(chunked(input, 333));
  let previous: TarEntry | undefined;
  for (let next = await reader.next(); !next.done; next = await reader.next()) {
    // The entry before was left half read or unread: asking for this item skipped the rest.
    if (previous) seen.push({ offset: previous.offset, padding: previous.padding().toString('hex') });
    previous = undefined;
    const item = next.value;
    if (item.kind !== 'entry') continue;
    assert.throws(() => item.padding(), /only after the body/);
    if (seen.length % 2 === 0) {
      for await (const piece of item.body) {
        assert.ok(piece.length > 0);
        break;
      }
      assert.throws(() => item.body[Symbol.asyncIterator](), /only once/);
    }
    previous = item;
  }
  const expected = full.items.filter((i) => i.kind === 'entry').map((i) => ({ offset: i.offset, padding: i.padding }));
  assert.deepEqual(seen, expected);
});

test('a sparse map that does not match the stored data is rejected', async () => {
  const sparseEntry = (map: string, body: Buffer): Buffer => Buffer.concat([
    paxHeaderBlocks([['GNU.sparse.size', Buffer.from('100')], ['GNU.sparse.numblocks', Buffer.from('1')], ['GNU.sparse.map', Buffer.from(map)]], 'x'),
    entry({ name: 'sparse' }, body),
    END,
  ]);
  await rejects(sparseEntry('0,10', Buffer.alloc(5)), /describes 10 stored bytes, the entry has 5/);
  await rejects(sparseEntry('95,10', Buffer.alloc(10)), /past the file size 100/);
  await rejects(sparseEntry('0,1,2', Buffer.alloc(1)), /odd number of figures/);
  const ok = await readAll(chunked(sparseEntry('90,10', Buffer.alloc(10, 1)), 4096));
  assert.deepEqual(ok.items[0]?.header?.sparse, { format: 'pax-0.1', realSize: 100, map: [{ offset: 90, length: 10 }] });
});

test('headers, bodies read whole and padding come back exactly from pieces of any size and alignment', async () => {
  // Bodies of every length mod 4 (so padding starts at every alignment), with padding that is
  // zero, or has one non-zero byte at its first, a middle or its last place.
  const parts: Buffer[] = [];
  const paddings: string[] = [];
  for (let n = 0; n < 24; n++) {
    const body = Buffer.alloc(1 + n * 37 + (n % 4), 0x61 + (n % 26));
    const padding = Buffer.alloc(paddingFor(body.length));
    const place = [-1, 0, Math.floor(padding.length / 2), padding.length - 1][n % 4]!;
    if (place >= 0) padding[place] = 0x80 + n;
    parts.push(encodeHeader({ name: `f${n}`, mode: 0o644, size: body.length }), body, padding);
    paddings.push(padding.toString('hex'));
  }
  const tar = Buffer.concat([...parts, END]);
  for (const shift of [0, 1, 2, 3]) {
    // The input at each alignment in memory, so that pieces start on and off word boundaries.
    const input = Buffer.alloc(tar.length + shift).subarray(shift);
    tar.copy(input);
    for (const size of [1, 3, 512, 777, 1024, 4099, tar.length]) {
      const seen: Buffer[] = [];
      const padded: string[] = [];
      let n = 0;
      for await (const item of readTar(chunked(input, size))) {
        if (item.kind !== 'entry') continue;
        seen.push(item.raw);
        // Every other body read whole (the index reader's way), the rest streamed.
        if (n++ % 2 === 0) seen.push(await item.readBody());
        else for await (const piece of item.body) seen.push(Buffer.from(piece));
        seen.push(item.padding());
        padded.push(item.padding().toString('hex'));
      }
      assert.ok(Buffer.concat(seen).equals(tar.subarray(0, tar.length - END.length)), `shift ${shift}, pieces of ${size}`);
      assert.deepEqual(padded, paddings, `shift ${shift}, pieces of ${size}`);
    }
  }
});
