/**
 * The tar header codec: decodes one 512-byte header block (v7, ustar, GNU, star), old-GNU sparse
 * extension blocks and PAX records, and encodes the ustar/PAX blocks the index writer emits.
 * Pure: no I/O, no state. Everything that rejects input throws BadTarError with the input offset.
 */
import { BadTarError } from '../errors';
import { readNumber, writeNumber } from './numbers';
import type { SparseSegment } from './types';

export const BLOCK = 512;

export type HeaderFormat = 'v7' | 'ustar' | 'gnu' | 'star';

/** One header block as stored, before long names, PAX records or sparse maps are applied. */
export interface ParsedHeader {
  format: HeaderFormat;
  /** The stored name: for ustar and star the prefix, a '/', then the name field. */
  name: Buffer;
  linkname: Buffer;
  /** NUL is reported as '0'. */
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  /** From the GNU and star atime/ctime fields, when set. */
  atime?: number;
  ctime?: number;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** Old GNU sparse ('S') map from the header itself; more may follow in extension blocks. */
  gnuSparse?: { map: SparseSegment[]; isExtended: boolean; realSize: number };
}

const CHECKSUM_START = 148;
const CHECKSUM_LENGTH = 8;
const GNU_SPARSE_START = 386;
const GNU_SPARSES_IN_HEADER = 4;
const GNU_IS_EXTENDED = 482;
const GNU_REALSIZE = 483;
const SPARSES_IN_EXTENSION = 21;
const EXTENSION_IS_EXTENDED = 504;

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i += 4) {
    if (block.readUInt32LE(i) !== 0) return false;
  }
  return true;
}

/** True when the stored checksum equals the unsigned or the signed byte sum (old tars used signed chars). */
export function checksumMatches(block: Buffer): boolean {
  const stored = readNumber(block, CHECKSUM_START, CHECKSUM_LENGTH);
  if (stored === undefined) return false;
  // The signed sum is only needed when the unsigned one (nearly every header's) does not match.
  if (stored === (block.byteOffset % 4 === 0 ? unsignedWordSum(block) : byteSums(block).unsigned)) return true;
  const { unsigned, high } = byteSums(block);
  return stored === unsigned - 0x100 * high;
}

interface HeaderSums {
  /** Byte sum with the checksum field counted as eight spaces. */
  unsigned: number;
  /** Bytes of 128 or more: a signed sum takes 256 from each. */
  high: number;
}

function byteSums(block: Buffer): HeaderSums {
  let unsigned = 8 * 0x20;
  let high = 0;
  for (let i = 0; i < BLOCK; i++) {
    if (i === CHECKSUM_START) i += CHECKSUM_LENGTH;
    const b = block[i]!;
    unsigned += b;
    high += b >>> 7;
  }
  return { unsigned, high };
}

/**
 * The words of the memory the last block summed was in: blocks come from Buffer's shared pool
 * (the reader's copies), so one view serves many; a view per block was garbage. Only a small
 * memory is kept referenced by it between calls.
 */
let wordsBuffer: ArrayBufferLike | null = null;
let words: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

function wordsOf(buffer: ArrayBufferLike): Uint32Array {
  if (buffer === wordsBuffer) return words;
  const view = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
  if (buffer.byteLength <= Buffer.poolSize) {
    wordsBuffer = buffer;
    words = view;
  }
  return view;
}

/**
 * byteSums' unsigned sum four bytes at a time, for an aligned block (every index entry's header
 * is summed): the bytes at even and odd places added in the two 16-bit lanes of one number,
 * which cannot carry from one lane to the other (126 words of at most 2 x 255 per lane).
 */
function unsignedWordSum(block: Buffer): number {
  const w = wordsOf(block.buffer);
  const first = block.byteOffset / 4;
  let lanes = 0;
  for (let i = first, end = first + BLOCK / 4, skip = first + CHECKSUM_START / 4; i < end; i++) {
    if (i === skip) i += CHECKSUM_LENGTH / 4;
    const x = w[i]!;
    lanes += (x & 0x00ff00ff) + ((x >>> 8) & 0x00ff00ff);
  }
  return 8 * 0x20 + (lanes % 0x10000) + Math.floor(lanes / 0x10000);
}

export function recomputeChecksum(block: Buffer): void {
  block.fill(0x20, CHECKSUM_START, CHECKSUM_START + CHECKSUM_LENGTH);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i] ?? 0;
  // GNU tar's layout: six octal digits, NUL, space.
  block.write(sum.toString(8).padStart(6, '0'), CHECKSUM_START, 6, 'latin1');
  block[CHECKSUM_START + 6] = 0;
  block[CHECKSUM_START + 7] = 0x20;
}

/** Shared by every empty field (most link names and prefixes); a zero-length buffer cannot be written. */
const EMPTY = Buffer.alloc(0);

/** Where a NUL-terminated field ends. */
function cstringEnd(block: Buffer, start: number, length: number): number {
  // A loop, not indexOf: fields are short, and the native call (and its compilation, at the
  // start of a load) cost more than the bytes looked at.
  const stop = start + length;
  let i = start;
  while (i < stop && block[i] !== 0) i++;
  return i;
}

/**
 * Bytes of a NUL-terminated field, as a view of the block: the reader parses only blocks it
 * copied out of the input (a name's own copy was a second buffer per entry for the collector).
 */
function cstring(block: Buffer, start: number, length: number): Buffer {
  const stop = cstringEnd(block, start, length);
  return stop === start ? EMPTY : block.subarray(start, stop);
}

/**
 * A text field that repeats from header to header (owner and group names): the last value
 * decoded is kept with its bytes and handed out again while the bytes are the same. Decoding
 * both names of every header was a sixth of loading an index (bench/README.md).
 */
class RepeatedText {
  private readonly bytes = Buffer.alloc(BLOCK);
  private length = -1;
  private value = '';

  read(block: Buffer, start: number, length: number): string {
    const end = cstringEnd(block, start, length);
    const n = end - start;
    if (n === this.length) {
      let i = 0;
      while (i < n && block[start + i] === this.bytes[i]) i++;
      if (i === n) return this.value;
    }
    block.copy(this.bytes, 0, start, end);
    this.length = n;
    this.value = block.toString('utf8', start, end);
    return this.value;
  }
}

const unames = new RepeatedText();
const gnames = new RepeatedText();

/** Byte comparison: decoding the magic to a string for each header cost more than parsing it. */
function hasBytes(block: Buffer, at: number, bytes: readonly number[]): boolean {
  for (let i = 0; i < bytes.length; i++) if (block[at + i] !== bytes[i]) return false;
  return true;
}

const USTAR_MAGIC = [0x75, 0x73, 0x74, 0x61, 0x72, 0x00]; // "ustar\0"
const GNU_MAGIC = [0x75, 0x73, 0x74, 0x61, 0x72, 0x20, 0x20, 0x00]; // "ustar  \0"

function detectFormat(block: Buffer): HeaderFormat {
  if (hasBytes(block, 257, USTAR_MAGIC)) {
    // GNU tar's test for star: prefix cut at 130 bytes, atime/ctime as 11 octal digits and a space.
    const isOctal = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x37;
    if (block[475] === 0 && isOctal(block[476]) && block[487] === 0x20 && isOctal(block[488]) && block[499] === 0x20) {
      return 'star';
    }
    return 'ustar';
  }
  if (hasBytes(block, 257, GNU_MAGIC)) return 'gnu';
  return 'v7';
}

/** A numeric field that must be readable (size, sparse map figures). */
function requireNumber(block: Buffer, start: number, length: number, what: string, offset: number): number {
  const value = readNumber(block, start, length);
  if (value === undefined) throw new BadTarError(`invalid ${what} field in tar header`, offset);
  return value;
}

/** Parses a header block whose checksum the caller has verified. `offset` is the block's input offset. */
export function parseHeader(block: Buffer, offset: number): ParsedHeader {
  const format = detectFormat(block);
  const typeflagByte = block[156] ?? 0;
  const typeflag = typeflagByte === 0 ? '0' : String.fromCharCode(typeflagByte);
  let name = cstring(block, 0, 100);
  if ((format === 'ustar' || format === 'star') && block[345] !== 0) {
    const prefix = cstring(block, 345, format === 'star' ? 131 : 155);
    name = Buffer.concat([prefix, Buffer.from('/'), name]);
  }
  const size = requireNumber(block, 124, 12, 'size', offset);
  if (size < 0) throw new BadTarError('negative size in tar header', offset);
  const hasOwnerFields = format !== 'v7';
  const header: ParsedHeader = {
    format,
    name,
    linkname: cstring(block, 157, 100),
    typeflag,
    // Fields other than size only describe the entry; an unreadable one is reported as 0, as GNU tar goes on.
    mode: readNumber(block, 100, 8) ?? 0,
    uid: readNumber(block, 108, 8) ?? 0,
    gid: readNumber(block, 116, 8) ?? 0,
    size,
    mtime: readNumber(block, 136, 12) ?? 0,
    uname: hasOwnerFields ? unames.read(block, 265, 32) : '',
    gname: hasOwnerFields ? gnames.read(block, 297, 32) : '',
    devmajor: hasOwnerFields ? (readNumber(block, 329, 8) ?? 0) : 0,
    devminor: hasOwnerFields ? (readNumber(block, 337, 8) ?? 0) : 0,
  };
  const timesAt = format === 'gnu' ? 345 : format === 'star' ? 476 : -1;
  if (timesAt >= 0) {
    const atime = readNumber(block, timesAt, 12);
    const ctime = readNumber(block, timesAt + 12, 12);
    if (atime) header.atime = atime;
    if (ctime) header.ctime = ctime;
  }
  if (format === 'gnu' && typeflag === 'S') {
    const map: SparseSegment[] = [];
    readSparseEntries(block, GNU_SPARSE_START, GNU_SPARSES_IN_HEADER, map, offset);
    header.gnuSparse = {
      map,
      isExtended: block[GNU_IS_EXTENDED] !== 0,
      realSize: requireNumber(block, GNU_REALSIZE, 12, 'sparse real size', offset),
    };
  }
  return header;
}

/** Appends the (offset, numbytes) pairs of an old-GNU sparse array; an empty numbytes field ends it. */
function readSparseEntries(block: Buffer, start: number, count: number, map: SparseSegment[], offset: number): void {
  for (let i = 0; i < count; i++) {
    const at = start + i * 24;
    if (block[at + 12] === 0) return;
    const segOffset = requireNumber(block, at, 12, 'sparse offset', offset);
    const length = requireNumber(block, at + 12, 12, 'sparse length', offset);
    if (segOffset < 0 || length < 0) throw new BadTarError('negative figure in sparse map', offset);
    map.push({ offset: segOffset, length });
  }
}

/** Parses an old-GNU sparse extension block: 21 more map entries and a flag for another block. */
export function parseSparseExtension(block: Buffer, offset: number): { map: SparseSegment[]; isExtended: boolean } {
  const map: SparseSegment[] = [];
  readSparseEntries(block, 0, SPARSES_IN_EXTENSION, map, offset);
  return { map, isExtended: block[EXTENSION_IS_EXTENDED] !== 0 };
}

/** The blanks a PAX record may have around its length: GNU tar's decode_record skips spaces and tabs (not all of isspace). */
const isBlank = (c: number | undefined): boolean => c === 0x20 || c === 0x09;

/**
 * Parses a PAX extended header body into its records, in order (repeated keys kept: PAX sparse 0.0
 * repeats GNU.sparse.offset/numbytes), the way GNU tar reads them (decode_record in its xheader.c):
 * each record is "LEN KEY=VALUE\n", LEN counting the whole record, blanks (space, tab) allowed
 * before LEN and after it, leading zeros in LEN; a NUL where a record would start ends the records
 * (whatever follows it is ignored); a record with an empty key is skipped, as GNU tar ignores it.
 * Anything else is rejected.
 */
export function parsePaxRecords(body: Buffer, offset: number): [string, Buffer][] {
  const records: [string, Buffer][] = [];
  let pos = 0;
  while (pos < body.length) {
    let i = pos;
    while (isBlank(body[i])) i++;
    if (i === body.length || body[i] === 0) break;
    // Digits past the bytes left cannot make a valid length: stop there, so a long run of them costs nothing.
    let length = 0;
    const digitsFrom = i;
    for (; i < body.length && length <= body.length - pos; i++) {
      const c = body[i]!;
      if (c < 0x30 || c > 0x39) break;
      length = length * 10 + (c - 0x30);
    }
    if (i === digitsFrom) throw new BadTarError('malformed PAX header: record does not start with a length', offset + pos);
    const end = pos + length;
    if (end > body.length) throw new BadTarError('malformed PAX header: record length out of bounds', offset + pos);
    if (!isBlank(body[i])) throw new BadTarError('malformed PAX header: record does not start with a length', offset + pos);
    while (isBlank(body[i])) i++;
    if (end <= i || body[end - 1] !== 0x0a) throw new BadTarError('malformed PAX header: record does not end with a newline', offset + pos);
    const equals = body.indexOf(0x3d, i);
    if (equals === -1 || equals >= end - 1) throw new BadTarError('malformed PAX header: record has no key=value', offset + pos);
    // Values are views of the body, which the caller's raw bytes keep anyway: a copy of each
    // cost 40 bytes more per record, for headers that may hold a million of them.
    if (equals > i) records.push([body.toString('utf8', i, equals), body.subarray(equals + 1, end - 1)]);
    pos = end;
  }
  return records;
}

/** The fields an encoded ustar header carries; numbers default to 0, typeflag to '0'. */
export interface HeaderFields {
  name: Buffer | string;
  typeflag?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  mtime?: number;
  linkname?: Buffer | string;
  uname?: string;
  gname?: string;
  devmajor?: number;
  devminor?: number;
}

/**
 * Splits a path into ustar prefix and name (name <= 100 bytes, prefix <= 155, split at a '/'),
 * or returns undefined when it cannot be stored in a plain ustar header (use a PAX 'path' record).
 */
export function splitUstarName(path: Buffer): { prefix: Buffer; name: Buffer } | undefined {
  if (path.length <= 100) return { prefix: Buffer.alloc(0), name: path };
  // The prefix is at most 155 bytes, so the separating '/' is at index <= 155 and the name after it <= 100.
  for (let slash = Math.min(155, path.length - 2); slash >= path.length - 101; slash--) {
    if (path[slash] === 0x2f && slash > 0) {
      return { prefix: path.subarray(0, slash), name: path.subarray(slash + 1) };
    }
  }
  return undefined;
}

function fieldBytes(value: Buffer | string | undefined, max: number, what: string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : (value ?? Buffer.alloc(0));
  if (bytes.length > max) throw new RangeError(`tar header: ${what} is ${bytes.length} bytes, at most ${max} fit`);
  return bytes;
}

/** Encodes one ustar header block with a valid checksum. Throws RangeError for what does not fit. */
export function encodeHeader(fields: HeaderFields): Buffer {
  const block = Buffer.alloc(BLOCK);
  const path = typeof fields.name === 'string' ? Buffer.from(fields.name, 'utf8') : fields.name;
  const split = splitUstarName(path);
  if (!split) throw new RangeError('tar header: name does not fit a ustar header; add a PAX path record');
  split.name.copy(block, 0);
  split.prefix.copy(block, 345);
  writeNumber(block, 100, 8, fields.mode ?? 0);
  writeNumber(block, 108, 8, fields.uid ?? 0);
  writeNumber(block, 116, 8, fields.gid ?? 0);
  writeNumber(block, 124, 12, fields.size ?? 0);
  writeNumber(block, 136, 12, Math.floor(fields.mtime ?? 0));
  const typeflag = fields.typeflag ?? '0';
  if (typeflag.length !== 1) throw new RangeError(`tar header: typeflag must be one character, got ${JSON.stringify(typeflag)}`);
  block.write(typeflag, 156, 1, 'latin1');
  fieldBytes(fields.linkname, 100, 'linkname').copy(block, 157);
  block.write('ustar\x0000', 257, 8, 'latin1');
  fieldBytes(fields.uname, 32, 'uname').copy(block, 265);
  fieldBytes(fields.gname, 32, 'gname').copy(block, 297);
  writeNumber(block, 329, 8, fields.devmajor ?? 0);
  writeNumber(block, 337, 8, fields.devminor ?? 0);
  recomputeChecksum(block);
  return block;
}

/** Rewrites the size field of a header block (octal, or base-256 past 8 GiB) and its checksum. */
export function setSizeField(block: Buffer, size: number): void {
  if (block.length !== BLOCK) throw new RangeError(`tar header: expected a ${BLOCK}-byte block, got ${block.length}`);
  if (size < 0) throw new RangeError(`tar header: negative size ${size}`);
  writeNumber(block, 124, 12, size);
  recomputeChecksum(block);
}

/**
 * Encodes PAX records as "LEN KEY=VALUE\n", LEN counting its own digits. LEN frames the record, so
 * a key may hold any byte but '=' (a newline too: the index carries such keys over from its input).
 */
export function encodePaxRecords(records: Map<string, Buffer> | [string, Buffer][]): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of records) {
    if (key.length === 0 || key.includes('=')) throw new RangeError(`PAX record: invalid key ${JSON.stringify(key)}`);
    const keyBytes = Buffer.from(key, 'utf8');
    const rest = 1 + keyBytes.length + 1 + value.length + 1; // space, key, '=', value, newline
    let digits = String(rest).length;
    while (String(rest + digits).length !== digits) digits++;
    const length = rest + digits;
    parts.push(Buffer.from(`${length} `, 'latin1'), keyBytes, Buffer.from('=', 'latin1'), value, Buffer.from('\n', 'latin1'));
  }
  return Buffer.concat(parts);
}

/** Zero bytes that pad `size` up to the next block boundary. */
export function paddingFor(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

const ZERO_BLOCK = Buffer.alloc(BLOCK);
const zeroSlices: Buffer[] = [];

/** `n` (at most BLOCK) zero bytes, shared: one view per length for the whole process. Never write into it. */
export function zeroPadding(n: number): Buffer {
  return (zeroSlices[n] ??= ZERO_BLOCK.subarray(0, n));
}

/**
 * A PAX header block for `records` followed by its padded body: 'x' (default) is ready to write
 * before an entry's header, 'g' is a global header of its own.
 */
export function paxHeaderBlocks(records: Map<string, Buffer> | [string, Buffer][], name: Buffer | string, typeflag: 'x' | 'g' = 'x'): Buffer {
  const body = encodePaxRecords(records);
  const nameBytes = typeof name === 'string' ? Buffer.from(name, 'utf8') : name;
  // The x header's own name is informative only; cut it to what fits a plain name field.
  const header = encodeHeader({ name: nameBytes.subarray(0, 100), typeflag, size: body.length, mode: 0o644 });
  return Buffer.concat([header, body, Buffer.alloc(paddingFor(body.length))]);
}
