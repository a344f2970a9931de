/**
 * The body record of an index entry: what replaces a file body in the index tar.
 *
 *   "DTR1" | u8 mode | mode-specific | u64 storedSize | sha256[32] | u8 flags
 *   | [flags&1: u16 paddingLength | padding bytes]
 *   | [flags&2: u64 realSize | u32 n | n x (u64 offset | u64 length)]
 *   | u32 chunkCount | chunkCount x (id[32] | u32 plainLength | brick[32] | u32 offset | u32 storedLength)
 *
 * mode 1 ("patched"): the index entry's headers are the original's, byte for byte, but for
 *   the main header's size and checksum fields, which follow here: size[12] | chksum[8].
 * mode 2 ("raw"): the index entry's headers were rewritten; the original header bytes
 *   follow here: u32 length | bytes.
 * All integers little-endian. Padding is stored only when the original was not all zeros.
 */
import { BadIndexError, magicVersion } from '../errors';
import type { SparseInfo } from '../tar/types';

export const RECORD_MAGIC = Buffer.from('DTR1');
export const MODE_PATCHED = 1;
export const MODE_RAW = 2;

/** One chunk of a body, with where it lives. */
export interface ChunkRef {
  id: Buffer;
  plainLength: number;
  brick: Buffer;
  offset: number;
  storedLength: number;
}

export interface BodyRef {
  storedSize: number;
  sha256: Buffer;
  chunks: ChunkRef[];
}

export type HeaderRestore = { mode: typeof MODE_PATCHED; sizeField: Buffer; chksumField: Buffer } | { mode: typeof MODE_RAW; raw: Buffer };

export interface BodyRecord {
  header: HeaderRestore;
  body: BodyRef;
  /** Original padding after the body, when not all zeros. */
  padding: Buffer | null;
  sparse: SparseInfo | null;
}

const SPARSE_FORMATS: SparseInfo['format'][] = ['gnu-old', 'pax-0.0', 'pax-0.1', 'pax-1.0'];

/**
 * An encoded chunk list: a u32 count, then CHUNK_ENTRY bytes a chunk, laid out as
 * id (32) | plainLength u32 | brick (32) | offset u32 | storedLength u32, at these offsets.
 */
export const CHUNK_LIST_HEAD = 4;
export const CHUNK_ENTRY = 76;
export const CHUNK_FIELD = { id: 0, plainLength: 32, brick: 36, offset: 68, storedLength: 72 } as const;

/** Byte offset of chunk i's brick field within an encoded chunk list; its offset and stored length follow. */
export function chunkPlaceOffset(i: number): number {
  return CHUNK_LIST_HEAD + i * CHUNK_ENTRY + CHUNK_FIELD.brick;
}

/** Fills in where chunk i lives, in an encoded chunk list written before its brick was built. */
export function writeChunkPlace(list: Buffer, at: number, brick: Buffer, offset: number, storedLength: number): void {
  brick.copy(list, at);
  list.writeUInt32LE(offset, at + 32);
  list.writeUInt32LE(storedLength, at + 36);
}

export function encodeRecord(r: BodyRecord): Buffer {
  const parts: Buffer[] = [RECORD_MAGIC];
  const u8 = (n: number): void => void parts.push(Buffer.from([n]));
  const u16 = (n: number): void => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(n);
    parts.push(b);
  };
  const u32 = (n: number): void => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    parts.push(b);
  };
  const u64 = (n: number): void => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    parts.push(b);
  };
  u8(r.header.mode);
  if (r.header.mode === MODE_PATCHED) parts.push(r.header.sizeField, r.header.chksumField);
  else {
    u32(r.header.raw.length);
    parts.push(r.header.raw);
  }
  u64(r.body.storedSize);
  parts.push(r.body.sha256);
  u8((r.padding ? 1 : 0) | (r.sparse ? 2 : 0));
  if (r.padding) {
    u16(r.padding.length);
    parts.push(r.padding);
  }
  if (r.sparse) {
    u8(SPARSE_FORMATS.indexOf(r.sparse.format));
    u64(r.sparse.realSize);
    u32(r.sparse.map.length);
    for (const s of r.sparse.map) {
      u64(s.offset);
      u64(s.length);
    }
  }
  parts.push(encodeChunkList(r.body.chunks));
  return Buffer.concat(parts);
}

export function encodeChunkList(chunks: readonly ChunkRef[]): Buffer {
  const out = Buffer.alloc(CHUNK_LIST_HEAD + chunks.length * CHUNK_ENTRY);
  out.writeUInt32LE(chunks.length, 0);
  let o = CHUNK_LIST_HEAD;
  for (const c of chunks) {
    c.id.copy(out, o + CHUNK_FIELD.id);
    out.writeUInt32LE(c.plainLength, o + CHUNK_FIELD.plainLength);
    c.brick.copy(out, o + CHUNK_FIELD.brick);
    out.writeUInt32LE(c.offset, o + CHUNK_FIELD.offset);
    out.writeUInt32LE(c.storedLength, o + CHUNK_FIELD.storedLength);
    o += CHUNK_ENTRY;
  }
  return out;
}

/** What errors call the bytes read; a function when building the name costs more than a failure would. */
export type Where = string | (() => string);

/** A bounds-checked cursor: every read past the end is a BadIndexError, never a RangeError. */
export class Cursor {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    private readonly place: Where,
  ) {}
  get where(): string {
    return typeof this.place === 'string' ? this.place : this.place();
  }
  need(n: number): void {
    if (n < 0 || this.pos + n > this.buf.length) throw new BadIndexError(`${this.where}: record truncated`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    // Two 32-bit halves: a BigInt per number slowed loading an index (bench/README.md).
    const low = this.buf.readUInt32LE(this.pos);
    const high = this.buf.readUInt32LE(this.pos + 4);
    this.pos += 8;
    if (high > 0x1fffff) throw new BadIndexError(`${this.where}: number out of range`);
    return high * 0x100000000 + low;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}

export function decodeChunkList(c: Cursor): ChunkRef[] {
  const n = c.u32();
  c.need(n * CHUNK_ENTRY);
  const chunks: ChunkRef[] = [];
  for (let i = 0; i < n; i++) {
    chunks.push({ id: c.bytes(32), plainLength: c.u32(), brick: c.bytes(32), offset: c.u32(), storedLength: c.u32() });
  }
  return chunks;
}

/**
 * A body read from a record. Its chunk references are decoded when first asked for: loading an
 * archive view copies them from `chunkList` straight into its tables, without a Buffer view
 * per id and brick, which slowed loading an index (bench/README.md).
 */
export class RecordBody implements BodyRef {
  private decoded: ChunkRef[] | undefined;

  constructor(
    readonly storedSize: number,
    /**
     * The record, with its body's SHA-256 at `shaAt` and its encoded chunk list (see
     * CHUNK_ENTRY, already checked) from `listAt` to its end: views of them are made only when
     * asked for (a view per entry was garbage for loading an index).
     */
    private readonly record: Buffer,
    private readonly shaAt: number,
    private readonly listAt: number,
  ) {}

  get sha256(): Buffer {
    return this.record.subarray(this.shaAt, this.shaAt + 32);
  }

  get chunks(): ChunkRef[] {
    return (this.decoded ??= decodeChunkList(new Cursor(this.record.subarray(this.listAt), 'chunk list')));
  }

  /** See encodedChunkList. */
  encoded(): { bytes: Buffer; at: number } {
    return { bytes: this.record, at: this.listAt };
  }
}

/** A body's chunk list in its encoded form (see encodeChunkList): it starts at `at` in `bytes`. */
export function encodedChunkList(body: BodyRef): { bytes: Buffer; at: number } {
  return body instanceof RecordBody ? body.encoded() : { bytes: encodeChunkList(body.chunks), at: 0 };
}

const MAGIC_WORD = RECORD_MAGIC.readUInt32LE(0);

export function decodeRecord(buf: Buffer, place: Where): BodyRecord {
  const c = new Cursor(buf, place);
  c.need(4);
  if (buf.readUInt32LE(0) !== MAGIC_WORD) {
    magicVersion(buf, RECORD_MAGIC, 3, () => `the body record of ${c.where}`); // throws for a newer record
    throw new BadIndexError(`${c.where}: not a dtar body record`);
  }
  c.pos = 4;
  const mode = c.u8();
  if (mode === MODE_PATCHED) c.need(20);
  else if (mode === MODE_RAW) c.need(c.u32());
  else throw new BadIndexError(`${c.where}: unknown record mode ${mode}`);
  c.pos += mode === MODE_PATCHED ? 20 : buf.readUInt32LE(5);
  const storedSize = c.u64();
  const shaAt = c.pos;
  c.need(32);
  c.pos += 32;
  const flags = c.u8();
  const padding = flags & 1 ? c.bytes(c.u16()) : null;
  let sparse: SparseInfo | null = null;
  if (flags & 2) {
    const format = SPARSE_FORMATS[c.u8()];
    if (!format) throw new BadIndexError(`${c.where}: unknown sparse format`);
    const realSize = c.u64();
    const n = c.u32();
    c.need(n * 16);
    const map = [];
    for (let i = 0; i < n; i++) map.push({ offset: c.u64(), length: c.u64() });
    sparse = { format, realSize, map };
  }
  const listStart = c.pos;
  const n = c.u32();
  c.need(n * CHUNK_ENTRY);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += buf.readUInt32LE(c.pos + i * CHUNK_ENTRY + CHUNK_FIELD.plainLength);
  c.pos += n * CHUNK_ENTRY;
  if (c.pos !== buf.length) throw new BadIndexError(`${c.where}: trailing bytes in record`);
  if (sum !== storedSize) throw new BadIndexError(`${c.where}: chunk lengths do not add up to the body size`);
  return new DecodedRecord(buf, new RecordBody(storedSize, buf, shaAt, listStart), padding, sparse);
}

/**
 * A record read from its bytes, the original header fields taken out only when asked for
 * (restore and copy need them; loading an archive does not, and two views per entry were garbage).
 */
class DecodedRecord implements BodyRecord {
  private restore: HeaderRestore | undefined;

  constructor(
    /** The whole record, already checked by decodeRecord. */
    private readonly bytes: Buffer,
    readonly body: BodyRef,
    readonly padding: Buffer | null,
    readonly sparse: SparseInfo | null,
  ) {}

  get header(): HeaderRestore {
    const b = this.bytes;
    // Laid out as decodeRecord checked it: the mode at 4, then its fields.
    return (this.restore ??=
      b[4] === MODE_PATCHED ? { mode: MODE_PATCHED, sizeField: b.subarray(5, 17), chksumField: b.subarray(17, 25) } : { mode: MODE_RAW, raw: b.subarray(9, 9 + b.readUInt32LE(5)) });
  }
}
