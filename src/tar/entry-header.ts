/**
 * Resolves an entry's metadata: the main header block overlaid with GNU long names and PAX
 * records (global then local), as GNU tar applies them. Also decides how many body bytes follow.
 */
import { BadTarError } from '../errors';
import type { ParsedHeader } from './header';
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

export interface Overlays {
  /** Global records in force, then this entry's local records, in order. */
  records: [string, Buffer][];
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
  const text = value.toString('latin1');
  const n = /^\d{1,20}$/.test(text) ? Number(text) : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

function paxTime(value: Buffer): number | undefined {
  const text = value.toString('latin1');
  return /^-?\d{1,20}(\.\d{1,20})?$/.test(text) ? Number(text) : undefined;
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

function recordsInForce(records: [string, Buffer][]): ReadonlyMap<string, Buffer> {
  if (records.length === 0) return NONE;
  const pax = new Map<string, Buffer>();
  for (const [key, value] of records) {
    // An empty value removes the key (POSIX: it undoes a global record for this entry).
    if (value.length === 0) pax.delete(key);
    else pax.set(key, value);
  }
  return pax;
}

function xattrsOf(pax: ReadonlyMap<string, Buffer>): ReadonlyMap<string, Buffer> {
  if (pax.size === 0) return NONE;
  const xattrs = new Map<string, Buffer>();
  for (const [key, value] of pax) {
    if (key.startsWith('SCHILY.xattr.')) xattrs.set(key.slice('SCHILY.xattr.'.length), value);
    else if (key.startsWith('LIBARCHIVE.xattr.')) {
      const name = decodePercent(key.slice('LIBARCHIVE.xattr.'.length));
      if (!xattrs.has(name)) xattrs.set(name, Buffer.from(value.toString('latin1'), 'base64'));
    }
  }
  return xattrs.size === 0 ? NONE : xattrs;
}

export function resolveEntry(main: ParsedHeader, overlays: Overlays, offset: number): ResolvedEntry {
  const pax = recordsInForce(overlays.records);
  const pathBytes = pax.get('GNU.sparse.name') ?? pax.get('path') ?? overlays.longName ?? main.name;
  const linkpathBytes = pax.get('linkpath') ?? overlays.longLink ?? main.linkname;

  let size = main.size;
  let paxSize = false;
  const sizeRecord = pax.get('size');
  if (sizeRecord !== undefined) {
    const value = paxInteger(sizeRecord);
    if (value === undefined) throw new BadTarError(`malformed PAX size record ${JSON.stringify(sizeRecord.toString('latin1').slice(0, 40))}`, offset);
    size = value;
    paxSize = true;
  }

  const xattrs = xattrsOf(pax);

  const path = pathBytes.toString('utf8');
  let type = TYPES[main.typeflag] ?? 'other';
  // BSD tar's convention, which GNU tar follows: a regular entry whose name ends in '/' is a directory.
  if ((main.typeflag === '0' || main.typeflag === '7') && path.endsWith('/')) type = 'directory';

  const text = (key: string, fallback: string): string => pax.get(key)?.toString('utf8') ?? fallback;
  const integer = (key: string, fallback: number): number => {
    const value = pax.get(key);
    return (value && paxInteger(value)) ?? fallback;
  };
  const time = (key: string): number | undefined => {
    const value = pax.get(key);
    return value && paxTime(value);
  };

  const header: TarHeader = {
    pathBytes,
    path,
    linkpathBytes,
    linkpath: linkpathBytes.toString('utf8'),
    typeflag: main.typeflag,
    type,
    mode: main.mode,
    uid: integer('uid', main.uid),
    gid: integer('gid', main.gid),
    uname: text('uname', main.uname),
    gname: text('gname', main.gname),
    mtime: time('mtime') ?? main.mtime,
    devmajor: main.devmajor,
    devminor: main.devminor,
    xattrs,
    pax,
  };
  const atime = time('atime') ?? main.atime;
  const ctime = time('ctime') ?? main.ctime;
  if (atime !== undefined) header.atime = atime;
  if (ctime !== undefined) header.ctime = ctime;
  return { header, dataSize: hasBody(main.typeflag, paxSize) ? size : 0, paxSize };
}
