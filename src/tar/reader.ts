/**
 * The byte-exact tar reader: walks the input in 512-byte blocks and hands out every byte exactly
 * once, as entries (extension headers + header + body + padding), PAX global headers, and the end
 * (the first all-zero block and everything after it). Bodies stream as slices of the input.
 */
import { BadTarError } from '../errors';
import { ByteSource } from './byte-source';
import { resolveEntry } from './entry-header';
import type { ParsedHeader } from './header';
import { BLOCK, checksumMatches, isZeroBlock, paddingFor, parseHeader, parsePaxRecords, parseSparseExtension } from './header';
import { SparseMapReader, paxSparse } from './sparse';
import { DEFAULT_TAR_LIMITS } from './types';
import type { SparseInfo, TarEntry, TarItem, TarReaderLimits } from './types';

/** Most extension headers (x, L, K) accepted before one entry's main header. */
const MAX_EXTENSION_HEADERS = 64;

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
  const bytes = await src.read(total);
  if (bytes.length < total) throw new BadTarError(`truncated archive: input ends inside ${what}`, start + bytes.length);
  return bytes;
}

/** Everything up to the first NUL of a GNU long name/link body. */
function longNameOf(body: Buffer, size: number): Buffer {
  const nul = body.indexOf(0);
  return Buffer.from(body.subarray(0, nul === -1 || nul > size ? size : nul));
}

/** The state behind one entry's body: what is left of it, and its padding once read. */
class Body {
  private remaining: number;
  private paddingBytes: Buffer | undefined;
  private started = false;
  private closed = false;

  constructor(
    private readonly src: ByteSource,
    readonly size: number,
  ) {
    this.remaining = size;
  }

  iterable(): AsyncIterable<Buffer> {
    return {
      [Symbol.asyncIterator]: () => {
        if (this.started) throw new Error('a tar entry body can be iterated only once');
        this.started = true;
        return this.stream();
      },
    };
  }

  private async *stream(): AsyncGenerator<Buffer> {
    while (this.remaining > 0) {
      if (this.closed) throw new Error('a tar entry body was read after the reader moved on');
      const piece = await this.src.slice(this.remaining);
      if (!piece) throw new BadTarError('truncated archive: input ends inside an entry body', this.src.offset);
      this.remaining -= piece.length;
      yield piece;
    }
    await this.readPadding();
  }

  private async readPadding(): Promise<void> {
    if (this.paddingBytes) return;
    const length = paddingFor(this.size);
    const start = this.src.offset;
    const bytes = await this.src.read(length);
    if (bytes.length < length) throw new BadTarError('truncated archive: input ends inside the padding after an entry body', start + bytes.length);
    this.paddingBytes = bytes;
  }

  padding(): Buffer {
    if (!this.paddingBytes) throw new Error('tar entry padding() is available only after the body was read or skipped');
    return this.paddingBytes;
  }

  /** Skips what the consumer left unread and reads the padding. */
  async finish(): Promise<void> {
    this.closed = true;
    if (this.remaining > 0) {
      const start = this.src.offset;
      const skipped = await this.src.skip(this.remaining);
      this.remaining -= skipped;
      if (this.remaining > 0) throw new BadTarError('truncated archive: input ends inside an entry body', start + skipped);
    }
    await this.readPadding();
  }
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
    map.push(...extension.map);
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

/**
 * Reads a tar stream item by item. Every byte of the input is in exactly one item, in order;
 * anything that is not a tar archive GNU tar would read throws BadTarError.
 * Do not interleave reading an entry's body with asking for the next item.
 */
export async function* readTar(source: AsyncIterable<Uint8Array>, limits: Partial<TarReaderLimits> = {}): AsyncGenerator<TarItem> {
  const { maxPaxSize, maxLongNameSize, maxSparseEntries } = { ...DEFAULT_TAR_LIMITS, ...limits };
  const src = new ByteSource(source);
  const globals = new Map<string, Buffer>();

  nextItem: for (;;) {
    const entryStart = src.offset;
    const raw: Buffer[] = [];
    const local: [string, Buffer][] = [];
    let longName: Buffer | undefined;
    let longLink: Buffer | undefined;
    let main: ParsedHeader | undefined;
    let mainHeaderOffset = 0;
    let extensions = 0;

    while (!main) {
      const blockStart = src.offset;
      const block = await src.read(BLOCK);
      if (block.length === 0 && raw.length === 0) {
        // No end-of-archive blocks at all: GNU tar accepts that (with a warning), so do we.
        yield { kind: 'end', offset: blockStart, tail: noTail() };
        return;
      }
      if (block.length < BLOCK) {
        // A cut end marker: GNU tar reads it as the end (it ignores any short last block; we only a zero one).
        if (raw.length === 0 && block.every((b) => b === 0)) {
          yield { kind: 'end', offset: blockStart, tail: tailOf(block, src) };
          return;
        }
        if (blockStart === 0) throw new BadTarError(`not a tar archive (only ${block.length} bytes)`, 0);
        throw new BadTarError('truncated archive: input ends inside a header block', blockStart + block.length);
      }
      if (isZeroBlock(block)) {
        if (raw.length > 0) throw new BadTarError('extended header is not followed by an entry header', blockStart);
        yield { kind: 'end', offset: blockStart, tail: tailOf(block, src) };
        return;
      }
      if (!checksumMatches(block)) {
        throw new BadTarError(blockStart === 0 ? notTarMessage(block) : 'bad header checksum', blockStart);
      }
      const header = parseHeader(block, blockStart);
      if (['x', 'X', 'L', 'K'].includes(header.typeflag) && ++extensions > MAX_EXTENSION_HEADERS) {
        throw new BadTarError(`more than ${MAX_EXTENSION_HEADERS} extension headers before one entry`, blockStart);
      }
      switch (header.typeflag) {
        case 'x':
        case 'X': // Solaris' older name for the same thing; GNU tar reads it as 'x'.
        case 'g': {
          if (header.size > maxPaxSize) throw new BadTarError(`PAX header of ${header.size} bytes is over the limit of ${maxPaxSize}`, blockStart);
          const body = await readPadded(src, header.size, 'a PAX header');
          const records = parsePaxRecords(body.subarray(0, header.size), blockStart + BLOCK);
          if (header.typeflag !== 'g') {
            local.push(...records);
            raw.push(block, body);
            break;
          }
          if (raw.length > 0) throw new BadTarError('PAX global header between an extended header and its entry', blockStart);
          for (const [key, value] of records) {
            if (value.length === 0) globals.delete(key);
            else globals.set(key, value);
          }
          yield { kind: 'global', offset: blockStart, raw: Buffer.concat([block, body]), records: new Map(records) };
          continue nextItem;
        }
        case 'L':
        case 'K': {
          if (header.size > maxLongNameSize) throw new BadTarError(`GNU long name of ${header.size} bytes is over the limit of ${maxLongNameSize}`, blockStart);
          const body = await readPadded(src, header.size, 'a GNU long name');
          if (header.typeflag === 'L') longName = longNameOf(body, header.size);
          else longLink = longNameOf(body, header.size);
          raw.push(block, body);
          break;
        }
        default:
          main = header;
          mainHeaderOffset = blockStart - entryStart;
          raw.push(block);
      }
    }

    const sparse = main.gnuSparse ? await readGnuSparse(src, main, raw, maxSparseEntries) : paxSparse(local, maxSparseEntries, entryStart);
    const resolved = resolveEntry(main, { records: [...globals, ...local], longName, longLink }, entryStart);
    let bodySize = resolved.dataSize;
    if (sparse) {
      if (sparse.format === 'pax-1.0') bodySize -= await readSparseMapBlocks(src, sparse, bodySize, raw, maxSparseEntries);
      resolved.header.sparse = sparse;
    }
    const body = new Body(src, bodySize);
    const entry: TarEntry = {
      kind: 'entry',
      header: resolved.header,
      offset: entryStart,
      raw: raw.length === 1 && raw[0] ? raw[0] : Buffer.concat(raw),
      mainHeaderOffset,
      paxSize: resolved.paxSize,
      bodySize,
      body: body.iterable(),
      padding: () => body.padding(),
    };
    yield entry;
    await body.finish();
  }
}
