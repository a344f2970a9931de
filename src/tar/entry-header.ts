/**
 * Resolves an entry's metadata: the main header block overlaid with GNU long names and PAX
 * records (the last global header's, then the entry's own), as GNU tar applies them. Also
 * decides how many body bytes follow.
 */
import { BadTarError } from '../errors';
import type { ParsedHeader } from './header';
import { readDecimal } from './numbers';
import type { EntryType, TarHeader } from './types';

const TYPES: Record<string, EntryType> = {
  '0': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'chardev',
  '4': 'blockdev',
  '5': 'directory',
  '6': 'fifo',
  '7': 'contiguous',
  S: 'file',
  V: 'volume-label',
  D: 'dumpdir',
  M: 'multivolume',
};

/** What came before an entry's main header (the reader's header group, passed as it is). */
export interface Overlays {
  /** This entry's own records (its last extended header's), in order. */
  local: readonly [string, Buffer][];
  longName?: Buffer;
  longLink?: Buffer;
}

export interface ResolvedEntry {
  header: TarHeader;
  /** Bytes after the header blocks: the body (for PAX sparse 1.0 including its map). */
  dataSize: number;
  paxSize: boolean;
}

function paxInteger(value: Buffer): number | undefined {
  return readDecimal(value.toString('latin1'));
}

/** Seconds as GNU tar reads them: an optional '-', digits (leading zeros too), an optional '.' and any number of digits. */
function paxTime(value: Buffer): number | undefined {
  const text = value.toString('latin1');
  if (!/^-?\d+(\.\d*)?$/.test(text)) return undefined;
  const seconds = Number(text);
  return Math.abs(seconds) <= Number.MAX_SAFE_INTEGER ? seconds : undefined;
}

/** LIBARCHIVE.xattr.NAME keys percent-encode the name; the value is base64. */
function decodePercent(text: string): string {
  return Buffer.from(text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8');
}

/**
 * Which entries have a body: the PAX size rules; directories, FIFOs, devices and symlinks never
 * do (GNU tar's extraction and libarchive agree; `tar t` alone skips a body for all but
 * directories); hard links only when a PAX size record says so; everything else has `size` bytes.
 */
function hasBody(typeflag: string, paxSize: boolean): boolean {
  switch (typeflag) {
    case '1':
      return paxSize;
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
      return false;
    default:
      return true;
  }
}

/** Shared by the many entries with no PAX records or xattrs; the header's maps are read-only. */
const NONE: ReadonlyMap<string, Buffer> = new Map();

/**
 * PAX records as they apply: the last value of each key, where an empty value removes the key
 * (POSIX: it undoes a global record for this entry).
 */
type Changes = ReadonlyMap<string, Buffer>;

function changesOf(records: readonly [string, Buffer][]): Changes {
  if (records.length === 0) return NONE;
  const changes = new Map<string, Buffer>();
  for (const [key, value] of records) changes.set(key, value);
  return changes;
}

/** `changes` without the removals: the map itself when there are none (the usual case). */
function withoutRemovals(changes: Changes): ReadonlyMap<string, Buffer> {
  let removals = 0;
  for (const value of changes.values()) if (value.length === 0) removals++;
  if (removals === 0) return changes.size === 0 ? NONE : changes;
  const map = new Map<string, Buffer>();
  for (const [key, value] of changes) if (value.length > 0) map.set(key, value);
  return map.size === 0 ? NONE : map;
}

const SCHILY_XATTR = 'SCHILY.xattr.';
const LIBARCHIVE_XATTR = 'LIBARCHIVE.xattr.';

/** The xattrs that PAX records set or remove; SCHILY's form wins over libarchive's for one name. */
function xattrChanges(changes: Changes): Changes {
  let xattrs: Map<string, Buffer> | null = null;
  for (const [key, value] of changes) {
    if (key.startsWith(SCHILY_XATTR)) (xattrs ??= new Map()).set(key.slice(SCHILY_XATTR.length), value);
    else if (key.startsWith(LIBARCHIVE_XATTR)) {
      const name = decodePercent(key.slice(LIBARCHIVE_XATTR.length));
      if (!xattrs?.get(name)?.length) (xattrs ??= new Map()).set(name, Buffer.from(value.toString('latin1'), 'base64'));
    }
  }
  return xattrs ?? NONE;
}

/**
 * An entry's changes over the global ones, read as one map that copies neither: a global header
 * may hold a million records, and each entry under it adds or removes a few.
 */
class Layered implements ReadonlyMap<string, Buffer> {
  readonly size: number;

  constructor(
    private readonly base: ReadonlyMap<string, Buffer>,
    private readonly top: Changes,
  ) {
    let size = base.size;
    for (const [key, value] of top) size += (value.length > 0 ? 1 : 0) - (base.has(key) ? 1 : 0);
    this.size = size;
  }

  get(key: string): Buffer | undefined {
    const value = this.top.get(key);
    if (value === undefined) return this.base.get(key);
    return value.length > 0 ? value : undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  *entries(): MapIterator<[string, Buffer]> {
    for (const entry of this.base) if (!this.top.has(entry[0])) yield entry;
    for (const [key, value] of this.top) if (value.length > 0) yield [key, value];
  }

  *keys(): MapIterator<string> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): MapIterator<Buffer> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[string, Buffer]> {
    return this.entries();
  }

  forEach(callback: (value: Buffer, key: string, map: ReadonlyMap<string, Buffer>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }
}

/** `changes` over `base`: base itself when there are none, a plain map when base is empty. */
function layered(base: ReadonlyMap<string, Buffer>, changes: Changes): ReadonlyMap<string, Buffer> {
  if (changes.size === 0) return base;
  if (base.size === 0) return withoutRemovals(changes);
  return new Layered(base, changes);
}

/**
 * The PAX global records in force, resolved once per global header and shared by every entry
 * under it. Each global header replaces the one before rather than adding to it, as GNU tar
 * reads them: so the work is that of the header's own records, once.
 */
export interface PaxGlobals {
  records: ReadonlyMap<string, Buffer>;
  xattrs: ReadonlyMap<string, Buffer>;
  /** `records` when they set a header field (HEADER_FIELDS), else none to look in. */
  fields: ReadonlyMap<string, Buffer>;
}

export const NO_GLOBALS: PaxGlobals = { records: NONE, xattrs: NONE, fields: NONE };

/**
 * The records resolveEntry reads a header field from. Most global headers set none of them (an
 * index's own header, a comment): entries under one then look up none, where each did eleven.
 */
const HEADER_FIELDS = ['GNU.sparse.name', 'path', 'linkpath', 'size', 'uid', 'gid', 'uname', 'gname', 'mtime', 'atime', 'ctime'];

/** `records`: a global header's, a later one of a key winning; empty ones have nothing to undo. */
export function paxGlobals(records: ReadonlyMap<string, Buffer>): PaxGlobals {
  const applying = withoutRemovals(records);
  const fields = HEADER_FIELDS.some((key) => applying.has(key)) ? applying : NONE;
  return { records: applying, xattrs: withoutRemovals(xattrChanges(applying)), fields };
}

/** What applies to an entry with records of its own (`own`) under `globals`. */
function inForce(own: Changes, globals: PaxGlobals): PaxGlobals {
  if (own.size === 0) return globals;
  if (globals.records.size === 0) {
    const records = withoutRemovals(own);
    return { records, xattrs: withoutRemovals(xattrChanges(records)), fields: records };
  }
  const records = layered(globals.records, own);
  return { records, xattrs: layered(globals.xattrs, xattrChanges(own)), fields: records };
}

// Module functions rather than closures in resolveEntry: three closures per entry were garbage.
function text(pax: ReadonlyMap<string, Buffer>, key: string, fallback: string): string {
  return pax.size === 0 ? fallback : (pax.get(key)?.toString('utf8') ?? fallback);
}

function integer(pax: ReadonlyMap<string, Buffer>, key: string, fallback: number): number {
  const value = pax.size === 0 ? undefined : pax.get(key);
  return (value && paxInteger(value)) ?? fallback;
}

function time(pax: ReadonlyMap<string, Buffer>, key: string): number | undefined {
  const value = pax.size === 0 ? undefined : pax.get(key);
  return value && paxTime(value);
}

export function resolveEntry(main: ParsedHeader, overlays: Overlays, globals: PaxGlobals, offset: number): ResolvedEntry {
  const own = changesOf(overlays.local);
  const { records: pax, xattrs, fields } = inForce(own, globals);
  // Header fields only from `fields` (HEADER_FIELDS lists every key read here).
  const pathBytes = fields.get('GNU.sparse.name') ?? fields.get('path') ?? overlays.longName ?? main.name;
  const linkpathBytes = fields.get('linkpath') ?? overlays.longLink ?? main.linkname;

  let size = main.size;
  let paxSize = false;
  const sizeRecord = fields.get('size');
  if (sizeRecord !== undefined) {
    const value = paxInteger(sizeRecord);
    if (value === undefined) throw new BadTarError(`malformed PAX size record ${JSON.stringify(sizeRecord.toString('latin1').slice(0, 40))}`, offset);
    size = value;
    paxSize = true;
  }

  const path = pathBytes.toString('utf8');
  let type = TYPES[main.typeflag] ?? 'other';
  // BSD tar's convention, which GNU tar follows: a regular entry whose name ends in '/' is a directory.
  if ((main.typeflag === '0' || main.typeflag === '7') && path.endsWith('/')) type = 'directory';

  const header: TarHeader = {
    pathBytes,
    path,
    linkpathBytes,
    linkpath: linkpathBytes.toString('utf8'),
    typeflag: main.typeflag,
    type,
    mode: main.mode,
    uid: integer(fields, 'uid', main.uid),
    gid: integer(fields, 'gid', main.gid),
    uname: text(fields, 'uname', main.uname),
    gname: text(fields, 'gname', main.gname),
    mtime: time(fields, 'mtime') ?? main.mtime,
    devmajor: main.devmajor,
    devminor: main.devminor,
    xattrs,
    pax,
    localPax: own,
  };
  const atime = time(fields, 'atime') ?? main.atime;
  const ctime = time(fields, 'ctime') ?? main.ctime;
  if (atime !== undefined) header.atime = atime;
  if (ctime !== undefined) header.ctime = ctime;
  return { header, dataSize: hasBody(main.typeflag, paxSize) ? size : 0, paxSize };
}
