/**
 * What the byte-exact tar reader hands out. The reader never changes or drops a byte:
 * for every archive it accepts, concatenating, in order, each item's raw bytes
 * (entry: raw + body + padding; global: raw; end: tail) gives back the input exactly.
 */

export type EntryType =
  | 'file'
  | 'hardlink'
  | 'symlink'
  | 'chardev'
  | 'blockdev'
  | 'directory'
  | 'fifo'
  | 'contiguous'
  | 'volume-label'
  | 'dumpdir'
  | 'multivolume'
  | 'other';

export interface SparseSegment {
  /** Offset of this data segment in the logical (expanded) file. */
  offset: number;
  length: number;
}

export interface SparseInfo {
  format: 'gnu-old' | 'pax-0.0' | 'pax-0.1' | 'pax-1.0';
  /** Size of the expanded file. */
  realSize: number;
  /** Data segments in file order; the body holds their bytes back to back. */
  map: SparseSegment[];
}

/** The metadata of one entry, after applying L/K long names, PAX (local and global) records and ustar prefix. */
export interface TarHeader {
  /** The entry's path as stored (may not be valid UTF-8). */
  pathBytes: Buffer;
  /** pathBytes decoded as UTF-8 (invalid sequences replaced); for display and matching. */
  path: string;
  linkpathBytes: Buffer;
  linkpath: string;
  /** The typeflag character of the main header ('0', '5', 'S', ...; NUL is reported as '0'). */
  typeflag: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Seconds since the epoch; PAX times keep their fraction. */
  mtime: number;
  atime?: number;
  ctime?: number;
  devmajor: number;
  devminor: number;
  /** Extended attributes from SCHILY.xattr.* (and LIBARCHIVE.xattr.*) records, values as raw bytes. */
  xattrs: ReadonlyMap<string, Buffer>;
  /** The PAX records in force for this entry (the last global header's, then its own), values as raw bytes. */
  pax: ReadonlyMap<string, Buffer>;
  /** This entry's own PAX records (its last extended header's): the last value of each key; an empty one undoes a global record. */
  localPax: ReadonlyMap<string, Buffer>;
  /** Present for sparse entries (old GNU 'S' and PAX sparse 0.0/0.1/1.0). */
  sparse?: SparseInfo;
}

export interface TarEntry {
  kind: 'entry';
  header: TarHeader;
  /** Offset in the input of raw[0]. */
  offset: number;
  /**
   * Every byte before the body: extension headers (x, L, K, ...) with their bodies, the main
   * header block, old-GNU sparse extension blocks, and for PAX sparse 1.0 the sparse map blocks.
   */
  raw: Buffer;
  /** Offset within raw of the main (ustar/gnu/v7) header block. */
  mainHeaderOffset: number;
  /** True when a PAX 'size' record gave the body size (the main header's size field is not it). */
  paxSize: boolean;
  /** Number of body bytes (for sparse entries: the stored data, without the map). */
  bodySize: number;
  /**
   * The body bytes, as slices of the input. Read it fully or not at all: the reader skips
   * whatever is left when the next item is asked for.
   */
  body: AsyncIterable<Buffer>;
  /** The whole body in one buffer, instead of `body`: for small bodies read whole (index records). A Buffer when it was buffered already. */
  readBody(): Buffer | Promise<Buffer>;
  /** The bytes between the end of the body and the next 512-byte boundary; valid once the body was read or skipped. */
  padding(): Buffer;
}

/** A PAX global header ('g') with its body. */
export interface TarGlobal {
  kind: 'global';
  offset: number;
  raw: Buffer;
  /** Its records, a later one of a key winning; shared with the reader's records in force, so read-only. */
  records: ReadonlyMap<string, Buffer>;
}

/**
 * The end: everything from where GNU tar stops reading to the end of the input. That is the
 * first all-zero header block, or the end of the input, or a last block shorter than 512 bytes,
 * met where a header is expected; when extension headers (x, L, K) came just before it with no
 * entry after them, the end starts at them.
 */
export interface TarEnd {
  kind: 'end';
  offset: number;
  /** The end-of-archive blocks, record padding and anything after them, streamed. */
  tail: AsyncIterable<Buffer>;
}

export type TarItem = TarEntry | TarGlobal | TarEnd;

export interface TarReaderLimits {
  /** Largest PAX extended header body accepted (bytes). */
  maxPaxSize: number;
  /** Largest GNU long name / long link body accepted (bytes). */
  maxLongNameSize: number;
  /** Most bytes of extension header bodies (x, L, K) accepted before one entry, in all. */
  maxExtensionBytes: number;
  /** Most sparse map entries accepted for one entry. */
  maxSparseEntries: number;
}

export const DEFAULT_TAR_LIMITS: TarReaderLimits = {
  maxPaxSize: 8 * 1024 * 1024,
  maxLongNameSize: 1024 * 1024,
  maxExtensionBytes: 16 * 1024 * 1024,
  maxSparseEntries: 1_000_000,
};
