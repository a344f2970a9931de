/**
 * The typed face of dtar_fuse.c (libfuse 3's low-level API on Node's event loop). Requests
 * arrive as calls on the handlers with the request's id first; each must be answered once,
 * then or later, through one of the reply functions. Attributes travel in `stats`
 * (STAT_FIELDS doubles a record), incoming names in `inName`, outgoing directory entry names
 * in `outNames` (each NUL-terminated): no allocation per request. native-notes/fuse.md says
 * how it is built and why it exists.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../errors';

/** An open session (a mount being served). */
export type SessionHandle = { readonly __session: unique symbol };

/** Record layout in `stats`. */
export const enum StatField {
  Ino = 0,
  Mode,
  Nlink,
  Uid,
  Gid,
  Rdev,
  Size,
  Blocks,
  MtimeSec,
  MtimeNsec,
  /** Directory entries only: the offset a READDIRPLUS continuing after this entry starts at. */
  NextOffset,
  /** Directory entries only: where the entry's NUL-terminated name starts in `outNames`. */
  NameAt,
  /** Directory entries only: 1 to list the entry without its attributes being kept (a LOOKUP follows on use). */
  Unresolved,
}

export interface SessionConfig {
  stats: Float64Array;
  inName: Buffer;
  outNames: Buffer;
  /** Entry and attribute validity, seconds. */
  timeout: number;
  maxBackground: number;
  congestion: number;
}

/** What the kernel asks; `name` arguments are the length of the name now in `inName`. */
export interface NativeHandlers {
  lookup(req: number, parent: number, nameLength: number): void;
  getattr(req: number, ino: number): void;
  readlink(req: number, ino: number): void;
  read(req: number, ino: number, size: number, offset: number): void;
  readdirplus(req: number, ino: number, size: number, offset: number): void;
  /** Without it (and listxattr) the kernel learns at the first ask that there are no xattrs. */
  getxattr?(req: number, ino: number, nameLength: number, size: number): void;
  listxattr?(req: number, ino: number, size: number): void;
  statfs(req: number, ino: number): void;
}

export interface NativeBinding {
  readonly STAT_FIELDS: number;
  /** Throws if libfuse cannot mount (it prints why on stderr). */
  mount(mountpoint: string, fuseArgs: string[], config: SessionConfig, handlers: NativeHandlers, onExit: () => void): SessionHandle;
  /** Stops serving and unmounts lazily; onExit follows. No reply goes out afterwards. */
  unmount(session: SessionHandle): void;
  replyErr(session: SessionHandle, req: number, errno: number): void;
  /** Record 0 of `stats`. */
  replyEntry(session: SessionHandle, req: number): void;
  /** Record 0 of `stats`. */
  replyAttr(session: SessionHandle, req: number): void;
  replyBuf(session: SessionHandle, req: number, data: Buffer, length: number): void;
  replyReadlink(session: SessionHandle, req: number, target: Buffer): void;
  /** Records [0, count) of `stats` with their names, as many as fit in `size` bytes. */
  replyDirPlus(session: SessionHandle, req: number, size: number, count: number): void;
  replyXattrSize(session: SessionHandle, req: number, size: number): void;
  replyStatfs(session: SessionHandle, req: number, blocks: number, files: number): void;
}

/** Where node-gyp leaves the addon (`npm ci` builds it), from dist/src/mount/native. */
const ADDON = join(__dirname, '../../../../src/mount/native/build/Release/dtar_fuse.node');

let loaded: NativeBinding | null = null;

export function nativeBinding(): NativeBinding {
  if (!loaded) {
    if (!existsSync(ADDON)) throw new UsageError(`the FUSE binding is not built (${ADDON}): run 'npm ci' in the dtar checkout`);
    loaded = require(ADDON) as NativeBinding;
  }
  return loaded;
}
