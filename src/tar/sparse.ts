/**
 * Sparse maps of the PAX GNU.sparse.* formats: 0.0 (repeated offset/numbytes records), 0.1 (one
 * GNU.sparse.map record) and 1.0 (decimal lines at the start of the body). Pure parsing with every
 * count bounded before anything grows.
 */
import { BadTarError } from '../errors';
import { readDecimal } from './numbers';
import type { SparseInfo, SparseSegment } from './types';

/** Longest line of a 1.0 map: GNU tar refuses longer ones ("numeric overflow in sparse archive member"). */
const MAX_DIGITS = 20;

function decimal(text: string, what: string, offset: number): number {
  const value = readDecimal(text);
  if (value === undefined) throw new BadTarError(`malformed sparse map: bad ${what} ${JSON.stringify(text.slice(0, 40))}`, offset);
  return value;
}

function checkCount(count: number, maxEntries: number, offset: number): void {
  if (count > maxEntries) throw new BadTarError(`sparse map has ${count} entries, more than the limit of ${maxEntries}`, offset);
}

/**
 * Finds a PAX sparse format among an entry's records (in order) and returns its map, or undefined
 * for a non-sparse entry. For 1.0 the map is still empty: it comes from the body (see SparseMapReader).
 */
export function paxSparse(records: readonly [string, Buffer][], maxEntries: number, offset: number): SparseInfo | undefined {
  const get = (key: string): string | undefined => {
    let value: string | undefined;
    for (const [k, v] of records) if (k === key) value = v.toString('latin1');
    return value;
  };
  const major = get('GNU.sparse.major');
  if (major !== undefined) {
    const minor = get('GNU.sparse.minor') ?? '0';
    // Numbers, as GNU tar reads them: "01" is 1.
    if (readDecimal(major) !== 1 || readDecimal(minor) !== 0) throw new BadTarError(`unsupported PAX sparse format ${major.slice(0, 20)}.${minor.slice(0, 20)}`, offset);
    return { format: 'pax-1.0', realSize: decimal(get('GNU.sparse.realsize') ?? '', 'real size', offset), map: [] };
  }
  const size = get('GNU.sparse.size') ?? get('GNU.sparse.realsize');
  const mapText = get('GNU.sparse.map');
  if (mapText !== undefined) {
    const numbers = mapText === '' ? [] : mapText.split(',');
    if (numbers.length % 2 !== 0) throw new BadTarError('malformed sparse map: odd number of figures in GNU.sparse.map', offset);
    checkCount(numbers.length / 2, maxEntries, offset);
    const map: SparseSegment[] = [];
    for (let i = 0; i < numbers.length; i += 2) {
      map.push({ offset: decimal(numbers[i] ?? '', 'offset', offset), length: decimal(numbers[i + 1] ?? '', 'length', offset) });
    }
    return { format: 'pax-0.1', realSize: decimal(size ?? '', 'real size', offset), map };
  }
  if (size === undefined && !records.some(([k]) => k === 'GNU.sparse.offset')) return undefined;
  const map: SparseSegment[] = [];
  let pendingOffset: number | undefined;
  for (const [key, value] of records) {
    if (key === 'GNU.sparse.offset') {
      if (pendingOffset !== undefined) throw new BadTarError('malformed sparse map: GNU.sparse.offset without numbytes', offset);
      pendingOffset = decimal(value.toString('latin1'), 'offset', offset);
    } else if (key === 'GNU.sparse.numbytes') {
      if (pendingOffset === undefined) throw new BadTarError('malformed sparse map: GNU.sparse.numbytes without offset', offset);
      checkCount(map.length + 1, maxEntries, offset);
      map.push({ offset: pendingOffset, length: decimal(value.toString('latin1'), 'length', offset) });
      pendingOffset = undefined;
    }
  }
  if (pendingOffset !== undefined) throw new BadTarError('malformed sparse map: GNU.sparse.offset without numbytes', offset);
  return { format: 'pax-0.0', realSize: decimal(size ?? '', 'real size', offset), map };
}

/**
 * Checks a map against what is stored, so expanding it is safe: the segments hold exactly the
 * stored bytes and none reaches past the real size.
 */
export function checkSparseMap(sparse: SparseInfo, storedSize: number, offset: number): void {
  let total = 0;
  for (const segment of sparse.map) {
    if (segment.offset + segment.length > sparse.realSize) {
      throw new BadTarError(`malformed sparse map: a segment ends at ${segment.offset + segment.length}, past the file size ${sparse.realSize}`, offset);
    }
    total += segment.length;
  }
  if (total !== storedSize) throw new BadTarError(`malformed sparse map: it describes ${total} stored bytes, the entry has ${storedSize}`, offset);
}

/**
 * Reads a PAX sparse 1.0 map from body blocks fed one at a time: a count line, then offset and
 * length lines. What follows the last line in its block is padding.
 */
export class SparseMapReader {
  readonly map: SparseSegment[] = [];
  private count: number | undefined;
  private pendingOffset: number | undefined;
  private digits = '';

  constructor(private readonly maxEntries: number) {}

  /** Consumes one block; true once the map is complete. `offset` is the block's input offset. */
  feed(block: Buffer, offset: number): boolean {
    for (let i = 0; i < block.length; i++) {
      const c = block[i] ?? 0;
      if (c >= 0x30 && c <= 0x39) {
        if (this.digits.length >= MAX_DIGITS) throw new BadTarError('malformed sparse map: number too long', offset + i);
        this.digits += String.fromCharCode(c);
      } else if (c === 0x0a) {
        if (this.accept(decimal(this.digits, 'figure', offset + i), offset + i)) return true;
        this.digits = '';
      } else {
        throw new BadTarError('malformed sparse map: unexpected byte in sparse map', offset + i);
      }
    }
    return false;
  }

  private accept(value: number, offset: number): boolean {
    if (this.count === undefined) {
      checkCount(value, this.maxEntries, offset);
      this.count = value;
    } else if (this.pendingOffset === undefined) {
      this.pendingOffset = value;
    } else {
      this.map.push({ offset: this.pendingOffset, length: value });
      this.pendingOffset = undefined;
    }
    return this.map.length === this.count;
  }
}
