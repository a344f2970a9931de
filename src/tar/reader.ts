/**
 * The byte-exact tar reader: walks the input in 512-byte blocks and hands out every byte exactly
 * once, as entries (extension headers + header + body + padding), PAX global headers, and the end
 * (from where GNU tar stops reading, see TarEnd, to the end of the input). Bodies stream as slices
 * of the input. It reads what GNU tar lists, the way GNU tar reads it (docs/FORMAT.md §7).
 */
import { BadTarError } from '../errors';
import { ByteSource } from './byte-source';
import { NO_GLOBALS, PaxGlobals, ResolvedEntry, paxGlobals, resolveEntry } from './entry-header';
import type { ParsedHeader } from './header';
import { BLOCK, checksumMatches, isZeroBlock, paddingFor, parseHeader, parsePaxRecords, parseSparseExtension } from './header';
import { EntryBody } from './entry-body';
import { Pullable, pulled } from './pull';
import { SparseMapReader, checkSparseMap, paxSparse } from './sparse';
import { DEFAULT_TAR_LIMITS } from './types';
import type { SparseInfo, TarEnd, TarEntry, TarGlobal, TarHeader, TarItem, TarReaderLimits } from './types';

/** Most extension headers (x, L, K) accepted before one entry's main header. */
const MAX_EXTENSION_HEADERS = 64;
/** Shared by the entries without PAX records of their own. */
const NO_RECORDS: readonly [string, Buffer][] = [];
const EXTENSION_TYPES = new Set(['x', 'X', 'L', 'K']);
/** Typeflag bytes of the headers readHeaderGroup reads on past: x, X, g, L, K. */
const EXTENSION_OR_GLOBAL = new Set([0x78, 0x58, 0x67, 0x4c, 0x4b]);

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

function notTarMessage(block: Buffer): string {
  if (block.subarray(0, 2).equals(GZIP_MAGIC)) return 'not a tar archive (it looks gzip-compressed; bad header checksum)';
  if (block.subarray(0, 4).equals(ZSTD_MAGIC)) return 'not a tar archive (it looks zstd-compressed; bad header checksum)';
  return 'not a tar archive (bad header checksum)';
}

/** Reads `size` bytes plus their block padding; throws on truncation. Only for bounded sizes. */
async function readPadded(src: ByteSource, size: number, what: string): Promise<Buffer> {
  const start = src.offset;
  const total = size + paddingFor(size);
  const bytes = src.readBuffered(total) ?? (await src.read(total));
  if (bytes.length < total) throw new BadTarError(`truncated archive: input ends inside ${what}`, start + bytes.length);
  return bytes;
}

/** Everything up to the first NUL of a GNU long name/link body. */
function longNameOf(body: Buffer, size: number): Buffer {
  const nul = body.indexOf(0);
  return Buffer.from(body.subarray(0, nul === -1 || nul > size ? size : nul));
}

async function* tailOf(first: Buffer, src: ByteSource): AsyncGenerator<Buffer> {
  yield first;
  for (;;) {
    const piece = await src.slice(Number.MAX_SAFE_INTEGER);
    if (!piece) return;
    yield piece;
  }
}

async function* noTail(): AsyncGenerator<Buffer> {}

/** Reads the old-GNU sparse extension blocks that follow an 'S' header. */
async function readGnuSparse(src: ByteSource, main: ParsedHeader, raw: Buffer[], maxEntries: number): Promise<SparseInfo> {
  const gnu = main.gnuSparse;
  if (!gnu) throw new Error('readGnuSparse needs an old GNU sparse header');
  const map = [...gnu.map];
  const tooMany = (at: number): BadTarError => new BadTarError(`sparse map has more entries than the limit of ${maxEntries}`, at);
  if (map.length > maxEntries) throw tooMany(src.offset - BLOCK);
  let extended = gnu.isExtended;
  while (extended) {
    const start = src.offset;
    const block = await src.read(BLOCK);
    if (block.length < BLOCK) throw new BadTarError('truncated archive: input ends inside a sparse extension header', start + block.length);
    const extension = parseSparseExtension(block, start);
    if (map.length + extension.map.length > maxEntries) throw tooMany(start);
    for (const segment of extension.map) map.push(segment);
    raw.push(block);
    extended = extension.isExtended;
  }
  return { format: 'gnu-old', realSize: gnu.realSize, map };
}

/** Reads the PAX sparse 1.0 map blocks at the start of the data; returns how many bytes they took. */
async function readSparseMapBlocks(src: ByteSource, sparse: SparseInfo, dataSize: number, raw: Buffer[], maxEntries: number): Promise<number> {
  const reader = new SparseMapReader(maxEntries);
  let used = 0;
  for (;;) {
    const start = src.offset;
    if (used + BLOCK > dataSize) throw new BadTarError('malformed sparse map: it runs past the entry data', start);
    const block = await src.read(BLOCK);
    if (block.length < BLOCK) throw new BadTarError('truncated archive: input ends inside a sparse map', start + block.length);
    raw.push(block);
    used += BLOCK;
    if (reader.feed(block, start)) break;
  }
  sparse.map = reader.map;
  return used;
}

/** What one pass over the header blocks found: the end, a global header, or an entry's headers. */
type EntryGroup = { kind: 'entry'; raw: Buffer[]; main: ParsedHeader; mainHeaderOffset: number; local: readonly [string, Buffer][]; longName?: Buffer; longLink?: Buffer };
type HeaderGroup = { kind: 'end'; item: TarEnd } | { kind: 'global'; item: TarGlobal } | EntryGroup;

/** Reads header blocks up to and including the next main header (or a global header, or the end). */
async function readHeaderGroup(src: ByteSource, limits: TarReaderLimits): Promise<HeaderGroup> {
  const groupStart = src.offset;
  const raw: Buffer[] = [];
  let local: readonly [string, Buffer][] = NO_RECORDS;
  let extensionBytes = 0;
  let longName: Buffer | undefined;
  let longLink: Buffer | undefined;
  for (let extensions = 0; ; ) {
    const blockStart = src.offset;
    const block = src.readBuffered(BLOCK) ?? (await src.read(BLOCK));
    if (blockStart === 0 && block.length > 0 && block.length < BLOCK && !block.every((b) => b === 0)) {
      throw new BadTarError(`not a tar archive (only ${block.length} bytes)`, 0);
    }
    // Where a header is due, GNU tar stops at the end of the input (no end-of-archive blocks: it
    // accepts that), at a last block shorter than a header (it ignores it) and at a zero block,
    // also when extension headers came before that describe no entry then: the end starts at them.
    if (block.length < BLOCK || isZeroBlock(block)) {
      raw.push(block);
      const first = raw.length === 1 ? block : Buffer.concat(raw);
      return { kind: 'end', item: { kind: 'end', offset: groupStart, tail: first.length === 0 ? noTail() : tailOf(first, src) } };
    }
    if (!checksumMatches(block)) throw new BadTarError(blockStart === 0 ? notTarMessage(block) : 'bad header checksum', blockStart);
    const header = parseHeader(block, blockStart);
    if (EXTENSION_TYPES.has(header.typeflag)) {
      if (++extensions > MAX_EXTENSION_HEADERS) throw new BadTarError(`more than ${MAX_EXTENSION_HEADERS} extension headers before one entry`, blockStart);
      // All of them are kept (the entry's raw bytes): bound their sum too, not only each one.
      extensionBytes += header.size;
      if (extensionBytes > limits.maxExtensionBytes) {
        throw new BadTarError(`extension headers before one entry hold more than the limit of ${limits.maxExtensionBytes} bytes`, blockStart);
      }
    }
    switch (header.typeflag) {
      case 'x':
      case 'X': // Solaris' older name for the same thing; GNU tar reads it as 'x'.
      case 'g': {
        if (header.size > limits.maxPaxSize) throw new BadTarError(`PAX header of ${header.size} bytes is over the limit of ${limits.maxPaxSize}`, blockStart);
        const body = await readPadded(src, header.size, 'a PAX header');
        const records = parsePaxRecords(body.subarray(0, header.size), blockStart + BLOCK);
        if (header.typeflag === 'g') {
          if (raw.length > 0) throw new BadTarError('PAX global header between an extended header and its entry', blockStart);
          return { kind: 'global', item: { kind: 'global', offset: blockStart, raw: Buffer.concat([block, body]), records: new Map(records) } };
        }
        // The last extended header before an entry is the one that applies, as GNU tar and bsdtar
        // read them: so the records held are those of one header, however many came.
        local = records;
        raw.push(block, body);
        break;
      }
      case 'L':
      case 'K': {
        if (header.size > limits.maxLongNameSize) throw new BadTarError(`GNU long name of ${header.size} bytes is over the limit of ${limits.maxLongNameSize}`, blockStart);
        const body = await readPadded(src, header.size, 'a GNU long name');
        if (header.typeflag === 'L') longName = longNameOf(body, header.size);
        else longLink = longNameOf(body, header.size);
        raw.push(block, body);
        break;
      }
      default:
        raw.push(block);
        return { kind: 'entry', raw, main: header, mainHeaderOffset: blockStart - groupStart, local, longName, longLink };
    }
  }
}

/**
 * readHeaderGroup's common case without an await: the next block is buffered and is a valid
 * main header with no extension headers before it. Null (nothing read) for anything else,
 * which readHeaderGroup then reads, checks and reports as always.
 */
function plainHeaderBuffered(src: ByteSource): EntryGroup | null {
  const blockStart = src.offset;
  const block = src.readBufferedIf(BLOCK, isPlainHeader);
  // The same fields in the same order as readHeaderGroup's groups: one shape for the code that reads them.
  return block && { kind: 'entry', raw: [block], main: parseHeader(block, blockStart), mainHeaderOffset: 0, local: NO_RECORDS, longName: undefined, longLink: undefined };
}

function isPlainHeader(block: Buffer): boolean {
  return !EXTENSION_OR_GLOBAL.has(block[156]!) && !isZeroBlock(block) && checksumMatches(block);
}

/**
 * The reader between items: next() reads the next item, with no promise when everything it
 * needs is already buffered (so most of an index piece parses without an await), and a
 * promise otherwise. Every byte of the input is in exactly one item, in order; anything that
 * is not a tar archive GNU tar would read throws BadTarError. Read an entry's body (or not)
 * before asking for the next item; whatever is left of it is skipped then.
 */
export class TarWalker implements Pullable<TarItem> {
  private readonly src: ByteSource;
  private readonly bounds: TarReaderLimits;
  /** The PAX global records in force. */
  private globals: PaxGlobals = NO_GLOBALS;
  private body: EntryBody | null = null;
  private ended = false;

  constructor(source: AsyncIterable<Uint8Array>, limits: Partial<TarReaderLimits> = {}) {
    this.src = new ByteSource(source);
    this.bounds = { ...DEFAULT_TAR_LIMITS, ...limits };
  }

  /** The next item; null after the end item. */
  next(): TarItem | null | Promise<TarItem | null> {
    if (this.ended) return null;
    const finishing = this.body?.finish();
    this.body = null;
    return finishing ? finishing.then(() => this.item()) : this.item();
  }

  /** Lets the input go (a file source closes its file). */
  close(): Promise<void> {
    return this.src.close();
  }

  /** The input read since offset `from` (an item's), as a view valid until the next item, when it is still buffered whole; else null. */
  readSince(from: number): Buffer | null {
    return this.src.readSince(from);
  }

  private item(): TarItem | Promise<TarItem> {
    const offset = this.src.offset;
    const plain = plainHeaderBuffered(this.src);
    // A plain header has no local records, so no PAX sparse map; an old GNU sparse one reads on.
    if (plain && !plain.main.gnuSparse) {
      const resolved = this.resolve(plain, offset);
      return this.entry(plain, offset, resolved, resolved.dataSize);
    }
    return this.itemSlowly(plain, offset);
  }

  private async itemSlowly(plain: EntryGroup | null, offset: number): Promise<TarItem> {
    const src = this.src;
    const group = plain ?? (await readHeaderGroup(src, this.bounds));
    if (group.kind === 'end') {
      this.ended = true;
      return group.item;
    }
    if (group.kind === 'global') {
      this.globals = paxGlobals(group.item.records);
      return group.item;
    }
    const { raw, main, local } = group;
    const sparse = main.gnuSparse ? await readGnuSparse(src, main, raw, this.bounds.maxSparseEntries) : paxSparse(local, this.bounds.maxSparseEntries, offset);
    const resolved = this.resolve(group, offset);
    let bodySize = resolved.dataSize;
    if (sparse) {
      if (sparse.format === 'pax-1.0') bodySize -= await readSparseMapBlocks(src, sparse, bodySize, raw, this.bounds.maxSparseEntries);
      checkSparseMap(sparse, bodySize, offset);
      resolved.header.sparse = sparse;
    }
    return this.entry(group, offset, resolved, bodySize);
  }

  private resolve(group: EntryGroup, offset: number): ResolvedEntry {
    return resolveEntry(group.main, group, this.globals, offset);
  }

  private entry(group: EntryGroup, offset: number, resolved: ResolvedEntry, bodySize: number): TarEntry {
    const raw = group.raw;
    const entry = new WalkedEntry(this.src, resolved.header, offset, raw.length === 1 && raw[0] ? raw[0] : Buffer.concat(raw), group.mainHeaderOffset, resolved.paxSize, bodySize);
    this.body = entry;
    return entry;
  }
}

/**
 * An entry that is also its body's reader: one object per entry, where an object with two
 * closures and a separate body reader were four (garbage that slowed loading an index).
 */
class WalkedEntry extends EntryBody implements TarEntry {
  readonly kind = 'entry' as const;

  constructor(
    src: ByteSource,
    readonly header: TarHeader,
    readonly offset: number,
    readonly raw: Buffer,
    readonly mainHeaderOffset: number,
    readonly paxSize: boolean,
    readonly bodySize: number,
  ) {
    super(src, bodySize);
  }

  get body(): AsyncIterable<Buffer> {
    return this;
  }

  readBody(): Buffer | Promise<Buffer> {
    return this.readAll();
  }
}

/**
 * Reads a tar stream item by item (see TarWalker). Do not interleave reading an entry's body
 * with asking for the next item.
 */
export function readTar(source: AsyncIterable<Uint8Array>, limits: Partial<TarReaderLimits> = {}): AsyncGenerator<TarItem> {
  return pulled(() => new TarWalker(source, limits));
}
