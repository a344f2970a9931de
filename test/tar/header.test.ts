/**
 * The header codec: numbers (octal, base-256 both signs), checksums, PAX records, and the
 * encoders round-tripping through the parser and through GNU tar itself.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { BadTarError } from '../../src/errors';
import {
  BLOCK,
  checksumMatches,
  encodeHeader,
  encodePaxRecords,
  isZeroBlock,
  paddingFor,
  parseHeader,
  parsePaxRecords,
  paxHeaderBlocks,
  recomputeChecksum,
  setSizeField,
  splitUstarName,
} from '../../src/tar/header';
import { chunked, readAll } from './collect';

const run = promisify(execFile);
const GiB = 1024 ** 3;

test('encodeHeader round-trips through parseHeader', () => {
  const fields = {
    name: 'dir/file.txt', typeflag: '0', mode: 0o4755, uid: 1000, gid: 100, size: 12345,
    mtime: 1_700_000_000, linkname: '', uname: 'alice', gname: 'staff', devmajor: 0, devminor: 0,
  };
  const block = encodeHeader(fields);
  assert.equal(block.length, BLOCK);
  assert.ok(checksumMatches(block));
  const parsed = parseHeader(block, 0);
  assert.equal(parsed.format, 'ustar');
  assert.equal(parsed.name.toString(), fields.name);
  for (const key of ['mode', 'uid', 'gid', 'size', 'mtime', 'uname', 'gname', 'typeflag'] as const) assert.equal(parsed[key], fields[key], key);
});

test('names over 100 bytes go to the ustar prefix when a slash allows it', () => {
  const long = `${'a'.repeat(120)}/${'b'.repeat(90)}`;
  const parsed = parseHeader(encodeHeader({ name: long }), 0);
  assert.equal(parsed.name.toString(), long);
  assert.equal(splitUstarName(Buffer.from('x'.repeat(101))), undefined);
  assert.equal(splitUstarName(Buffer.from(`${'a'.repeat(156)}/b`)), undefined);
  assert.throws(() => encodeHeader({ name: 'y'.repeat(300) }), RangeError);
  const binary = Buffer.from([0x66, 0xff, 0xfe, 0x2f, 0x67]);
  assert.ok(parseHeader(encodeHeader({ name: binary }), 0).name.equals(binary));
});

test('numbers past the octal range use base-256, including negative ones', () => {
  const big = 9 * GiB + 7;
  const block = encodeHeader({ name: 'huge', size: big, mtime: -1, uid: 2 ** 40 });
  assert.equal(block[124], 0x80);
  assert.equal(block[136], 0xff);
  const parsed = parseHeader(block, 0);
  assert.equal(parsed.size, big);
  assert.equal(parsed.mtime, -1);
  assert.equal(parsed.uid, 2 ** 40);

  // Hand-made fields: all 0xff is -1 and 0xff..fe is -2 (tar-stream gets these off by one).
  const raw = encodeHeader({ name: 'neg' });
  raw.fill(0xff, 136, 148);
  raw[147] = 0xfe;
  recomputeChecksum(raw);
  assert.equal(parseHeader(raw, 0).mtime, -2);
  raw[147] = 0xff;
  recomputeChecksum(raw);
  assert.equal(parseHeader(raw, 0).mtime, -1);

  setSizeField(raw, 8 * GiB);
  assert.ok(checksumMatches(raw));
  assert.equal(parseHeader(raw, 0).size, 8 * GiB);
  setSizeField(raw, 8 * GiB - 1);
  assert.equal(raw.toString('latin1', 124, 135), '77777777777');
  assert.equal(parseHeader(raw, 0).size, 8 * GiB - 1);
});

test('a negative or unreadable size is rejected', () => {
  const block = encodeHeader({ name: 'x' });
  block.fill(0xff, 124, 136);
  recomputeChecksum(block);
  assert.throws(() => parseHeader(block, 1024), (e: unknown) => e instanceof BadTarError && e.offset === 1024 && /negative size/.test(e.message));
  block.write('12345678x   ', 124, 'latin1');
  recomputeChecksum(block);
  assert.throws(() => parseHeader(block, 0), BadTarError);
});

test('checksums are accepted as unsigned or signed sums, and zero blocks are detected', () => {
  const block = encodeHeader({ name: '\u00e9t\u00e9', uname: '\u00e9' });
  assert.ok(checksumMatches(block));
  // Old tars summed signed chars: bytes >= 0x80 count negative.
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    signed += b >= 0x80 ? b - 256 : b;
  }
  block.write(`${signed.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  assert.ok(checksumMatches(block));
  block[0] = 0x41;
  assert.ok(!checksumMatches(block));
  assert.ok(isZeroBlock(Buffer.alloc(BLOCK)));
  const nearlyZero = Buffer.alloc(BLOCK);
  nearlyZero[511] = 1;
  assert.ok(!isZeroBlock(nearlyZero));
});

test('PAX records round-trip at every length boundary, with binary values', () => {
  for (let length = 0; length < 1100; length++) {
    const value = Buffer.alloc(length, 0xfe);
    const encoded = encodePaxRecords([['k', value], ['path', Buffer.from([0xff, 0x0a, 0x3d])]]);
    assert.deepEqual(parsePaxRecords(encoded, 0), [['k', value], ['path', Buffer.from([0xff, 0x0a, 0x3d])]]);
  }
  const map = new Map([['SCHILY.xattr.user.a', Buffer.from('v')]]);
  assert.equal(encodePaxRecords(map).toString(), '25 SCHILY.xattr.user.a=v\n');
  // NUL padding after the records is tolerated.
  assert.deepEqual(parsePaxRecords(Buffer.concat([encodePaxRecords(map), Buffer.alloc(10)]), 0), [...map]);
});

test('malformed PAX records are rejected with BadTarError', () => {
  const bad = ['x', '5 a=b', '6 a=b\n\n', '06 a=bc', '7 a=b\nx', '99 a=b\n', '6 abc\n', ' 6 a=b\n', '1 \n', '4 a=\n\0x', '6  a=b\n', '7 a=b\n\x01'];
  for (const text of bad) {
    assert.throws(() => parsePaxRecords(Buffer.from(text, 'latin1'), 100), (e: unknown) => e instanceof BadTarError && e.offset >= 100, JSON.stringify(text));
  }
  assert.deepEqual(parsePaxRecords(Buffer.from('6 a=b\n'), 0), [['a', Buffer.from('b')]]);
  assert.deepEqual(parsePaxRecords(Buffer.from('5 a=\n'), 0), [['a', Buffer.alloc(0)]]);
  // As GNU tar reads them (gnu-leniency.test.ts compares): an empty key is skipped, a NUL ends the records.
  assert.deepEqual(parsePaxRecords(Buffer.from('6 =ab\n6 a=b\n\0junk'), 0), [['a', Buffer.from('b')]]);
});

/** Past the 7 octal digits of the uid field (so base-256), inside GNU tar's uid_t. */
const BIG_UID = 3_000_000;

/** A stream made only from the encoders: what the index writer will produce. */
function encodedArchive(): { stream: Buffer; longPath: Buffer } {
  const longPath = Buffer.concat([Buffer.from(`${'p'.repeat(200)}/${'q'.repeat(100)}/`), Buffer.from([0xff, 0xfe]), Buffer.from('.bin')]);
  const body = Buffer.from('hello from the encoders\n');
  const parts = [
    encodeHeader({ name: 'dir/', typeflag: '5', mode: 0o755, mtime: 1_600_000_000 }),
    paxHeaderBlocks([['path', longPath], ['hdrcharset', Buffer.from('BINARY')], ['mtime', Buffer.from('1600000000.25')]], 'PaxHeaders/long'),
    encodeHeader({ name: 'placeholder', size: body.length, mode: 0o644, mtime: 1_600_000_000, uid: BIG_UID }),
    body,
    Buffer.alloc(paddingFor(body.length)),
    encodeHeader({ name: 'dir/link', typeflag: '2', linkname: 'placeholder', mode: 0o777 }),
    Buffer.alloc(2 * BLOCK),
  ];
  return { stream: Buffer.concat(parts), longPath };
}

test('a stream made by the encoders reads back exactly', async () => {
  const { stream, longPath } = encodedArchive();
  const { items, reassembled } = await readAll(chunked(stream, 100));
  assert.ok(reassembled.equals(stream));
  const headers = items.flatMap((i) => (i.header ? [i.header] : []));
  assert.deepEqual(headers.map((h) => h.type), ['directory', 'file', 'symlink']);
  assert.ok(headers[1]?.pathBytes.equals(longPath));
  assert.equal(headers[1]?.mtime, 1_600_000_000.25);
  assert.equal(headers[1]?.uid, BIG_UID);
});

test('GNU tar lists a stream made by the encoders', async () => {
  const { stream, longPath } = encodedArchive();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'dtar-encoded-'));
  const file = path.join(dir, 'encoded.tar');
  await fs.writeFile(file, stream);
  const { stdout } = await run('tar', ['-t', '-v', '--numeric-owner', '--quoting-style=literal', '-f', file], { encoding: 'buffer' });
  const lines = stdout.toString('latin1').trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0] ?? '', /^drwxr-xr-x 0\/0 .* dir\/$/);
  assert.match(lines[1] ?? '', new RegExp(`^-rw-r--r-- ${BIG_UID}/0 +24 .* p{200}/q{100}/`));
  assert.ok((lines[1] ?? '').endsWith(longPath.toString('latin1')));
  assert.match(lines[2] ?? '', /^lrwxrwxrwx .* dir\/link -> placeholder$/);
  await fs.rm(dir, { recursive: true });
});

test('checksums agree whether the block is summed a word or a byte at a time (aligned or not)', () => {
  const sum = (b: Buffer, signed: boolean): number => {
    let s = 0;
    for (let i = 0; i < BLOCK; i++) {
      const v = i >= 148 && i < 156 ? 0x20 : b[i]!;
      s += signed && v >= 0x80 ? v - 256 : v;
    }
    return s;
  };
  const backing = Buffer.alloc(BLOCK + 8);
  for (let round = 0; round < 200; round++) {
    // Blocks of every byte value, high bytes included, some all 0xff (the largest lane sums).
    const block = round === 0 ? Buffer.alloc(BLOCK, 0xff) : Buffer.from(Array.from({ length: BLOCK }, (_, i) => (i * 131 + round * 977) % 256));
    for (const signed of [false, true]) {
      const s = sum(block, signed);
      if (s < 0) continue;
      block.write(`${s.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
      for (const shift of [0, 1, 4]) {
        const at = backing.subarray(shift, shift + BLOCK);
        block.copy(at);
        assert.ok(checksumMatches(at), `round ${round}, ${signed ? 'signed' : 'unsigned'}, offset ${shift}`);
        at[300] = at[300]! ^ 0x10;
        assert.ok(!checksumMatches(at), `round ${round}: a changed byte is caught`);
      }
    }
  }
});

test('owner and group names are read per header, however they repeat or change', () => {
  // The parser keeps the last name decoded: same-length names, a prefix of the last, empty, back again.
  const names = ['alice', 'alice', 'bobby', 'bob', '', 'bobby', 'caf\u00e9', 'alice'];
  for (const [i, uname] of names.entries()) {
    const gname = names[names.length - 1 - i]!;
    const h = parseHeader(encodeHeader({ name: `f${i}`, uname, gname }), 0);
    assert.equal(h.uname, uname);
    assert.equal(h.gname, gname);
  }
});
