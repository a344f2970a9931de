/**
 * What GNU tar lists without an error, dtar reads too, and the same way: numbers with leading
 * zeros, blanks and NULs, base-256 and base-64 fields, PAX records laid out loosely, and archives
 * that end early (after an extended header, at a short block, at one zero block). Each case is
 * crafted bytes given to real GNU tar and to the reader; the two listings must agree, and the
 * reader must hand every byte back. The cases GNU tar refuses, dtar refuses too. The two forms
 * issue 20 found and a few more also go through the real ingest, ls and restore.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, test } from 'node:test';
import { BadTarError } from '../../src/errors';
import { encodeHeader } from '../../src/tar/header';
import { END, extension, file, record, roundTrip, withField } from '../support/crafted';
import { dtar, ok, testStore, type TestStore } from '../support/dtar';
import { chunked, readAll } from './collect';
import { dtarList, gnuList } from './gnu';

const zeros = (width: number) => (n: number): string => String(n).padStart(width, '0');
/** A one-byte file whose header fields are then rewritten. */
const plain = (): Buffer => encodeHeader({ name: 'f', size: 1, mode: 0o644, uid: 5, gid: 6, mtime: 1e9 });
const bodyOfOne = Buffer.concat([Buffer.from('F'), Buffer.alloc(511)]);

/** GNU tar lists `bytes` without an error, dtar lists the same entries, and hands back every byte. */
async function sameAsGnuTar(bytes: Buffer, what: string): Promise<string[]> {
  const gnu = await gnuList(bytes);
  assert.equal(gnu.code, 0, `${what}: GNU tar: ${gnu.stderr}`);
  assert.ok(gnu.lines.length > 0, what);
  assert.deepEqual(await dtarList(bytes), gnu.lines, what);
  const { reassembled } = await readAll(chunked(bytes, 700));
  assert.ok(reassembled.equals(bytes), `${what}: every byte handed back`);
  return gnu.lines;
}

test('PAX numeric records with leading zeros read as GNU tar reads them', async () => {
  const size = Buffer.concat([extension(record('size', '000000000000000000000999')), encodeHeader({ name: 'f', mode: 0o644 }), Buffer.alloc(1024), END]);
  assert.deepEqual(await sameAsGnuTar(size, 'size'), ['0/0 999 1970-01-01 00:00:00 f']);
  const owners = Buffer.concat([extension(Buffer.concat([record('uid', '0000000000000000000000042'), record('gid', '00000000000000000000000000007')])), file('f', 'F'), END]);
  assert.deepEqual(await sameAsGnuTar(owners, 'uid and gid'), ['42/7 1 2001-09-09 01:46:40 f']);
});

test('PAX times with leading zeros, long fractions, a bare dot, or a minus read as GNU tar reads them', async () => {
  for (const [mtime, listed] of [
    ['000000000000000000000001234.5', '1970-01-01 00:20:34.5'],
    ['1234.123456789012345678901234567', '1970-01-01 00:20:34.123456789'],
    ['1234.', '1970-01-01 00:20:34'],
    ['-1234', '1969-12-31 23:39:26'],
  ]) {
    const bytes = Buffer.concat([extension(record('mtime', mtime!)), file('f', 'F'), END]);
    assert.deepEqual(await sameAsGnuTar(bytes, mtime!), [`0/0 1 ${listed} f`]);
  }
  // A negative time with a fraction: GNU tar lists it (its display of those is off by a second and a
  // fraction), and dtar keeps the value as written.
  const negative = Buffer.concat([extension(record('mtime', '-1234.75')), file('f', 'F'), END]);
  assert.equal((await gnuList(negative)).code, 0);
  assert.equal((await readAll(chunked(negative, 4096))).items[0]?.header?.mtime, -1234.75);
});

test('PAX sparse records with leading zeros read as GNU tar reads them, in each format', async () => {
  const data = Buffer.concat([Buffer.from('0123456789'), Buffer.alloc(502)]);
  const map10 = Buffer.concat([Buffer.from('1\n90\n10\n'), Buffer.alloc(504)]);
  const formats: [string, Buffer[], Buffer][] = [
    ['0.0', [record('GNU.sparse.size', '0000000000000000000000100'), record('GNU.sparse.numblocks', '01'), record('GNU.sparse.offset', '000000000000000000000090'), record('GNU.sparse.numbytes', '00000000000000000000000010')], data],
    ['0.1', [record('GNU.sparse.size', '0000000000000000000000100'), record('GNU.sparse.numblocks', '01'), record('GNU.sparse.map', '000000000000000000000090,00000000000000000000000010')], data],
    ['1.0', [record('GNU.sparse.major', '01'), record('GNU.sparse.minor', '00'), record('GNU.sparse.realsize', '0000000000000000000000100')], Buffer.concat([map10, data])],
  ];
  for (const [format, records, body] of formats) {
    const stored = format === '1.0' ? 522 : 10;
    const bytes = Buffer.concat([
      extension(Buffer.concat([...records, record('GNU.sparse.name', 'sparse')])),
      encodeHeader({ name: 'GNUSparseFile/sparse', size: stored, mode: 0o644, mtime: 1e9 }),
      body.subarray(0, stored),
      Buffer.alloc((512 - (stored % 512)) % 512),
      END,
    ]);
    assert.deepEqual(await sameAsGnuTar(bytes, format), ['0/0 100 2001-09-09 01:46:40 sparse'], format);
    const { items } = await readAll(chunked(bytes, 4096));
    assert.deepEqual(items[0]?.header?.sparse?.map, [{ offset: 90, length: 10 }], format);
  }
});

test('PAX records laid out loosely read as GNU tar reads them', async () => {
  const cases: [string, Buffer][] = [
    ['a length with leading zeros', record('path', 'named', zeros(25))],
    ['blanks before the length', record('path', 'named', String, ' ', ' \t')],
    ['blanks after the length', record('path', 'named', String, ' \t ')],
    ['a NUL, then anything, after the records', Buffer.concat([record('path', 'named'), Buffer.from('\0not a record')])],
    ['a record with an empty key (GNU tar ignores it)', Buffer.concat([record('', 'x'), record('path', 'named')])],
    ['a key with a newline (an unknown keyword)', Buffer.concat([record('a\nb', 'x'), record('path', 'named')])],
  ];
  for (const [what, body] of cases) {
    assert.deepEqual(await sameAsGnuTar(Buffer.concat([extension(body), file('f', 'F'), END]), what), ['0/0 1 2001-09-09 01:46:40 named'], what);
  }
});

test('numeric header fields read as GNU tar reads them: a leading NUL, blanks, any terminator, base-256, base-64', async () => {
  const cases: [string, Buffer][] = [
    ['size with a leading NUL', withField(plain(), 124, '\0' + '0000000001 ')],
    ['size after tabs', withField(plain(), 124, '\t\t000000001 ')],
    ['size ended by a newline', withField(plain(), 124, '00000000001\n')],
    ['size, NUL, then garbage', withField(plain(), 124, '1\0garbage\0\0\0')],
    ['size, space, then garbage', withField(plain(), 124, '1 garbage!!!')],
    ['uid, gid and mtime with the same', withField(withField(withField(plain(), 108, '\0' + '0005\0x'), 116, '\v6\nxyzzy'), 136, '7346545000 Z')],
    ['size in base-256', withField(plain(), 124, '\x80\0\0\0\0\0\0\0\0\0\0\x01')],
    ['size in base-64 (tar 1.13.6 to 1.13.11)', withField(plain(), 124, '+AAAAAAAAAB')],
  ];
  for (const [what, header] of cases) {
    assert.deepEqual(await sameAsGnuTar(Buffer.concat([header, bodyOfOne, END]), what), ['5/6 1 2001-09-09 01:46:40 f'], what);
  }
});

test('an archive may end where a header is due: after an extended header, at a short block, at one zero block', async () => {
  const a = file('a', 'A');
  const cases: [string, Buffer][] = [
    ['the end of the input right after an extended header', Buffer.concat([a, extension(record('path', 'bbb'))])],
    ['end-of-archive blocks right after an extended header', Buffer.concat([a, extension(record('path', 'bbb')), END])],
    ['a long name, then the end of the input', Buffer.concat([a, extension(Buffer.from('long\0'), 'L')])],
    ['an extended header, a long name, then the end', Buffer.concat([a, extension(record('path', 'bbb')), extension(Buffer.from('long\0'), 'L'), END])],
    ['an extended header, then a short block of junk', Buffer.concat([a, extension(record('path', 'bbb')), Buffer.from('junk')])],
    ['a short block of junk where a header is due', Buffer.concat([a, Buffer.from('garbage')])],
    ['a short block of zeros', Buffer.concat([a, Buffer.alloc(100)])],
    ['one zero block, then the end', Buffer.concat([a, Buffer.alloc(512)])],
    ['one zero block, then more entries (GNU tar stops at it)', Buffer.concat([a, Buffer.alloc(512), file('b', 'B'), END])],
    ['an extended header, a zero block, then more entries', Buffer.concat([a, extension(record('path', 'bbb')), Buffer.alloc(512), file('b', 'B'), END])],
    ['garbage after the end-of-archive blocks', Buffer.concat([a, END, Buffer.from('trailing garbage')])],
  ];
  for (const [what, bytes] of cases) {
    assert.deepEqual(await sameAsGnuTar(bytes, what), ['0/0 1 2001-09-09 01:46:40 a'], what);
    const { items } = await readAll(chunked(bytes, 4096));
    assert.equal(items.at(-1)?.offset, 1024, `${what}: the end item starts where the entries stop`);
  }
});

test('what GNU tar refuses, dtar refuses too', async () => {
  const sized = (value: string): Buffer => Buffer.concat([extension(record('size', value)), encodeHeader({ name: 'f', mode: 0o644 }), Buffer.alloc(1024), END]);
  const cases: [string, Buffer][] = [
    ['a PAX size with a sign', sized('+1')],
    ['a PAX size with a blank', sized(' 1')],
    ['a PAX size past any file', sized('99999999999999999999999')],
    ['a size field with a letter after its digits', Buffer.concat([withField(plain(), 124, '1x'), bodyOfOne, END])],
    ['an extended header cut short', Buffer.concat([file('a', 'A'), extension(record('path', 'b'.repeat(600))).subarray(0, 700)])],
    ['a bad checksum after an extended header', Buffer.concat([file('a', 'A'), extension(record('path', 'bbb')), Buffer.alloc(512, 1), END])],
    ['a body cut short', file('a', 'A'.repeat(100)).subarray(0, 600)],
  ];
  for (const [what, bytes] of cases) {
    assert.notEqual((await gnuList(bytes)).code, 0, `${what}: GNU tar refuses it`);
    await assert.rejects(readAll(chunked(bytes, 4096)), BadTarError, what);
  }
});

describe('dtar ingest, ls and restore of what GNU tar lists', () => {
  let s: TestStore;
  before(async () => {
    s = await testStore();
    ok(await dtar(['init'], { env: s.env }), 'init');
  });
  after(() => s.cleanup());

  const cases: [string, Buffer][] = [
    ['pax-size-zeros', Buffer.concat([extension(record('size', '000000000000000000000999')), encodeHeader({ name: 'f', mode: 0o644 }), Buffer.alloc(1024, 0x61), END])],
    ['end-after-extended-header', Buffer.concat([file('a', 'A'), extension(record('path', 'bbb'))])],
    ['zeros-after-extended-header', Buffer.concat([file('a', 'A'), extension(record('path', 'bbb')), END])],
    ['short-junk-block', Buffer.concat([file('a', 'A'), Buffer.from('garbage')])],
    ['octal-leniency', Buffer.concat([withField(withField(plain(), 124, '\0' + '0000000001 '), 108, '\t5 junk'), bodyOfOne, END])],
    ['pax-record-layout', Buffer.concat([extension(Buffer.concat([record('path', 'named', zeros(25), ' \t'), Buffer.from('\0junk')])), file('f', 'F'), END])],
  ];
  for (const [label, bytes] of cases) {
    it(`gives back ${label} byte for byte, and lists it as GNU tar does`, async () => {
      const gnu = await gnuList(bytes);
      assert.equal(gnu.code, 0, gnu.stderr);
      const r = await roundTrip(s, label, bytes);
      assert.ok(r.restored.equals(bytes), 'restored byte for byte');
      assert.deepEqual(r.listed, gnu.lines.map((l) => l.split(' ').at(-1)));
    });
  }
});
