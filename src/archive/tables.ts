/**
 * The packed tables an archive view is made of, as the builder leaves them. Inode numbers
 * index the per-inode arrays directly (0 is unused, 1 is the root); a "node" is one name in
 * a directory (hard links are several nodes of one inode). Everything is a typed array or
 * one shared buffer, so the cost per entry is a few dozen bytes whatever the archive holds.
 */

export const ROOT_INO = 1;
/** `ref` of an inode that has no content, link target or children table. */
export const NO_REF = 0xffffffff;

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

export interface InodeTable {
  /** st_mode: type bits and permissions. */
  mode: Uint32Array;
  uid: Uint32Array;
  gid: Uint32Array;
  size: Float64Array;
  /** Modification time in milliseconds since the epoch. */
  mtimeMs: Float64Array;
  nlink: Uint32Array;
  /**
   * Regular file: its row in the content table. Symlink: its row in the link table. Directory:
   * its row in the directory table. Character or block device: its device number.
   */
  ref: Uint32Array;
  /** One node naming the inode (the last one added), to name it in messages. */
  node: Uint32Array;
}

export interface NodeTable {
  /** Inode of the directory holding the name. */
  parent: Uint32Array;
  ino: Uint32Array;
  nameOffset: Uint32Array;
  nameLength: Uint32Array;
}

/** Per directory: its children's node numbers, sorted by name bytes, are children[start, end). */
export interface DirTable {
  start: Uint32Array;
  end: Uint32Array;
  children: Uint32Array;
}

/**
 * Per regular file: its chunks are chunk rows [chunkStart, chunkEnd); sparse segments [sparseStart, sparseEnd) (none: not sparse).
 * Rows are contiguous, so each end column is a view of its start column shifted by one row.
 */
export interface ContentTable {
  chunkStart: Uint32Array;
  chunkEnd: Uint32Array;
  sparseStart: Uint32Array;
  sparseEnd: Uint32Array;
}

/** One row per chunk reference of a file body, in body order. */
export interface ChunkTable {
  /** 32 bytes per row. */
  ids: Buffer;
  /** Row in `bricks` (32 bytes per brick id). */
  brick: Uint32Array;
  offset: Uint32Array;
  storedLength: Uint32Array;
  plainLength: Uint32Array;
  /** Where the chunk starts in its file's stored body. */
  bodyOffset: Float64Array;
  bricks: Buffer;
}

/** Sparse data segments: where each sits in the logical file and in the stored body. */
export interface SparseTable {
  logical: Float64Array;
  length: Float64Array;
  stored: Float64Array;
}

export interface ArchiveTables {
  inodes: InodeTable;
  nodes: NodeTable;
  dirs: DirTable;
  contents: ContentTable;
  chunks: ChunkTable;
  sparse: SparseTable;
  /** Names and symlink targets; link row i is links.offset[i], links.length[i]. */
  bytes: Buffer;
  links: { offset: Uint32Array; length: Uint32Array };
  /** Extended attributes, only for the inodes that have any. */
  xattrs: Map<number, ReadonlyMap<string, Buffer>>;
}

/** Bytes of memory the tables hold: each memory block once and whole (a table may be a view of a larger block, or share one). */
export function tableBytes(tables: ArchiveTables): number {
  const blocks = new Set<ArrayBufferLike>();
  const count = (o: object): void => {
    for (const v of Object.values(o)) {
      if (ArrayBuffer.isView(v)) blocks.add(v.buffer);
      else if (v && typeof v === 'object' && !(v instanceof Map)) count(v as object);
    }
  };
  count(tables);
  let bytes = 0;
  for (const block of blocks) bytes += block.byteLength;
  return bytes;
}
