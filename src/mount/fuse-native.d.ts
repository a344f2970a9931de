/**
 * Types for the parts of fuse-native 2.2 that dtar uses (the package ships none).
 * Callbacks take 0 or a negative errno first; `read` and `getxattr` answer with the
 * byte count instead. See native-notes/fuse.md and /work/shared/notes/fuse-native.md.
 */
declare module 'fuse-native' {
  namespace Fuse {
    interface Stat {
      mode: number;
      uid: number;
      gid: number;
      size: number;
      nlink: number;
      ino: number;
      rdev: number;
      blksize: number;
      blocks: number;
      /** Milliseconds since the epoch. */
      atime: number;
      mtime: number;
      ctime: number;
    }

    interface StatFs {
      bsize: number;
      frsize: number;
      blocks: number;
      bfree: number;
      bavail: number;
      files: number;
      ffree: number;
      favail: number;
      fsid: number;
      flag: number;
      namemax: number;
    }

    type Done = (err: number) => void;

    interface Operations {
      init?(cb: Done): void;
      getattr?(path: string, cb: (err: number, stat?: Stat) => void): void;
      readdir?(path: string, cb: (err: number, names?: string[], stats?: Stat[]) => void): void;
      open?(path: string, flags: number, cb: (err: number, fd?: number) => void): void;
      release?(path: string, fd: number, cb: Done): void;
      opendir?(path: string, flags: number, cb: (err: number, fd?: number) => void): void;
      releasedir?(path: string, fd: number, cb: Done): void;
      /** Fill `buf` before calling back (it is libfuse's memory); answer the byte count or a negative errno. */
      read?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (result: number) => void): void;
      readlink?(path: string, cb: (err: number, target?: string) => void): void;
      getxattr?(path: string, name: string, position: number, cb: (err: number, value?: Buffer | null) => void): void;
      listxattr?(path: string, cb: (err: number, names?: string[]) => void): void;
      statfs?(path: string, cb: (err: number, stats?: StatFs) => void): void;
      access?(path: string, mode: number, cb: Done): void;
      write?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (result: number) => void): void;
      create?(path: string, mode: number, cb: (err: number, fd?: number) => void): void;
      truncate?(path: string, size: number, cb: Done): void;
      ftruncate?(path: string, fd: number, size: number, cb: Done): void;
      utimens?(path: string, atime: number, mtime: number, cb: Done): void;
      chown?(path: string, uid: number, gid: number, cb: Done): void;
      chmod?(path: string, mode: number, cb: Done): void;
      mknod?(path: string, mode: number, dev: number, cb: Done): void;
      setxattr?(path: string, name: string, value: Buffer, position: number, flags: number, cb: Done): void;
      removexattr?(path: string, name: string, cb: Done): void;
      unlink?(path: string, cb: Done): void;
      rename?(src: string, dest: string, cb: Done): void;
      link?(src: string, dest: string, cb: Done): void;
      symlink?(src: string, dest: string, cb: Done): void;
      mkdir?(path: string, mode: number, cb: Done): void;
      rmdir?(path: string, cb: Done): void;
    }

    interface Options {
      /** JavaScript timeout of each operation in ms (default 15000), false for none, or per operation name. */
      timeout?: number | false | { default?: number; [operation: string]: number | false | undefined };
      force?: boolean;
      mkdir?: boolean;
      allowOther?: boolean;
      autoUnmount?: boolean;
      fsname?: string;
      subtype?: string;
      maxRead?: number;
      kernelCache?: boolean;
      entryTimeout?: number;
      attrTimeout?: number;
      debug?: boolean;
    }
  }

  class Fuse {
    constructor(mnt: string, ops: Fuse.Operations, opts?: Fuse.Options);
    readonly mnt: string;
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: Error | null) => void): void;
    /** The native mount's state, handed to the binding. */
    protected _thread: Buffer;
    /** Builds the "-o..." argument handed to libfuse; subclasses may add options fuse-native does not know. */
    protected _fuseOptions(): string;
    static unmount(mnt: string, cb: (err: Error | null) => void): void;
    static readonly ENOENT: number;
    static readonly EIO: number;
    static readonly EROFS: number;
    static readonly ENODATA: number;
    static readonly ENOTDIR: number;
    static readonly EISDIR: number;
    static readonly EBADF: number;
    static readonly EINVAL: number;
    static readonly ERANGE: number;
  }

  export = Fuse;
}

/** The loader fuse-native uses; called on fuse-native's directory it returns the same (cached) binding. */
declare module 'node-gyp-build' {
  interface FuseBinding {
    /** Releases the loop handle of a mount whose kernel side is already gone. */
    fuse_native_unmount(mnt: string, thread: Buffer): void;
  }
  function load(dir: string): FuseBinding;
  export = load;
}
