/**
 * Mounting and unmounting through dtar's own libfuse 3 binding: the mount options every
 * dtar mount has (read-only, permissions enforced by the kernel, no setuid or devices,
 * taken down with the process), the scratch memory requests and replies travel through, a
 * larger kernel read-ahead for the new mount, a watchdog that takes the mount down if the
 * process dies without unmounting (src/mount/watchdog.ts), and a promise that settles when
 * the mount goes away, whether we unmount it or someone runs `dtar umount` / `fusermount3 -u`.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:os';
import { realpath, stat, statfs, writeFile } from 'node:fs/promises';
import { UsageError } from '../errors';
import { NativeBinding, nativeBinding, NativeHandlers, SessionHandle, StatField } from './native/binding';
import { Watchdog } from './watchdog';

export interface MountOptions {
  allowOther: boolean;
  /** Shown as the mount's source in /proc/mounts. */
  fsname: string;
  /** Kernel read-ahead for the mount, in KiB (sysfs; only root may set it). */
  readAheadKb: number;
}

/** What a filesystem answers: the kernel's requests, by inode, with the session to reply through. */
export interface LowLevelFilesystem {
  lookup(req: number, parent: number, name: Buffer): void;
  getattr(req: number, ino: number): void;
  readlink(req: number, ino: number): void;
  read(req: number, ino: number, size: number, offset: number): void;
  readdirplus(req: number, ino: number, size: number, offset: number): void;
  /** Only for a filesystem that has extended attributes at all. */
  xattrs?: {
    get(req: number, ino: number, name: Buffer, size: number): void;
    list(req: number, ino: number, size: number): void;
  };
  statfs(req: number): void;
}

/** Attributes of one inode, as the kernel gets them. */
export interface Attributes {
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  /** 512-byte blocks the file holds. */
  blocks: number;
  mtimeMs: number;
}

const { EIO } = constants.errno;

/** A directory's entries as a READDIRPLUS answer asks for them, by position ("." is 0, ".." is 1). */
export interface DirectoryListing {
  count: number;
  name(pos: number): Buffer;
  /** Writes entry `pos`'s attributes into record `slot`; true to list it unresolved (a LOOKUP follows on use). */
  put(pos: number, slot: number): boolean;
}

/** Bytes of one READDIRPLUS entry besides its name: fuse_entry_out (128) and fuse_dirent (24). */
const DIRENT_PLUS = 152;
/** Longest name the kernel sends (FUSE_NAME_MAX is 1024) with its NUL. */
const IN_NAME_BYTES = 4096;
/** Directory entries answered at most per READDIRPLUS (the kernel's buffer holds fewer). */
const DIR_RECORDS = 4096;
/** The archive never changes: the kernel may keep names and attributes for a day. */
const TIMEOUT_S = 86_400;

/**
 * ro: writes fail with EROFS before they reach us. default_permissions: the kernel checks
 * modes and owners, as on any filesystem (else --allow-other would let anyone read
 * anything). nosuid, nodev: an archive's setuid files and devices are data, not powers.
 * auto_unmount: libfuse mounts through fusermount3, which opens /dev/fuse for a user who
 * may not, and takes down a killed mount whose directories were never opened; one that was
 * opened (no-opendir) is left to the watchdog. subtype=dtar: the type is fuse.dtar, which
 * the watchdog checks before unmounting.
 */
const MOUNT_OPTIONS = ['ro', 'nosuid', 'nodev', 'default_permissions', 'auto_unmount', 'subtype=dtar'];

/** libfuse's option parser reads "\," as a comma inside a value. */
function optionValue(v: string): string {
  return v.replace(/[\\,]/g, (c) => `\\${c}`);
}

/** Unmounts a dtar mount served by another process (`dtar umount`); its process then exits. */
export function unmountElsewhere(mountpoint: string): Promise<void> {
  return fusermount(['-u', mountpoint]).catch((e: unknown) => {
    throw new UsageError(`cannot unmount ${mountpoint}: ${e instanceof Error ? e.message : String(e)}`);
  });
}

function fusermount(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('fusermount3', args, (err, _stdout, stderr) => (err ? reject(new Error(stderr.trim() || err.message)) : resolve()));
  });
}

/** Linux's dev_t split, as sysfs names a backing device "major:minor". */
function devName(dev: number): string {
  return `${Math.floor(dev / 256) & 0xfff}:${(dev & 0xff) | (Math.floor(dev / 4096) & 0xfff00)}`;
}

export class FuseSession {
  private readonly native: NativeBinding;
  /** Attribute records (StatField layout), shared with the binding. */
  private readonly stats: Float64Array;
  private readonly fields: number;
  private readonly inName = Buffer.alloc(IN_NAME_BYTES);
  /** Names of the directory entries of one READDIRPLUS answer, each NUL-terminated. */
  private readonly outNames = Buffer.alloc(DIR_RECORDS * 64);
  private handle: SessionHandle | null = null;
  private mountpointPath = '';
  private watchdog: Watchdog | null = null;
  /** Settles when the filesystem is no longer mounted. */
  readonly gone: Promise<void>;
  private markGone!: () => void;

  constructor() {
    this.native = nativeBinding();
    this.fields = this.native.STAT_FIELDS;
    this.stats = new Float64Array(DIR_RECORDS * this.fields);
    this.gone = new Promise<void>((resolve) => (this.markGone = resolve)).then(() => this.watchdog?.stop());
  }

  get mountpoint(): string {
    return this.mountpointPath;
  }

  /** Mounts `fs` at `mountpoint` and serves it on this thread's event loop until unmounted. */
  async mount(mountpoint: string, fs: LowLevelFilesystem, options: MountOptions): Promise<void> {
    await clearDeadMount(mountpoint);
    let before;
    try {
      before = await stat(mountpoint);
    } catch {
      throw new UsageError(`mount point ${mountpoint} does not exist`);
    }
    if (!before.isDirectory()) throw new UsageError(`mount point ${mountpoint} is not a directory`);
    const watchdog = new Watchdog(await realpath(mountpoint));
    const opts = [...MOUNT_OPTIONS, `fsname=${optionValue(options.fsname)}`];
    if (options.allowOther) opts.push('allow_other');
    const name = this.inName;
    const g = this.guarded.bind(this);
    const handlers: NativeHandlers = {
      lookup: (req, parent, n) => g(req, () => fs.lookup(req, parent, name.subarray(0, n))),
      getattr: (req, ino) => g(req, () => fs.getattr(req, ino)),
      readlink: (req, ino) => g(req, () => fs.readlink(req, ino)),
      read: (req, ino, size, offset) => g(req, () => fs.read(req, ino, size, offset)),
      readdirplus: (req, ino, size, offset) => g(req, () => fs.readdirplus(req, ino, size, offset)),
      statfs: (req) => g(req, () => fs.statfs(req)),
    };
    const x = fs.xattrs;
    if (x) {
      handlers.getxattr = (req, ino, n, size) => g(req, () => x.get(req, ino, name.subarray(0, n), size));
      handlers.listxattr = (req, ino, size) => g(req, () => x.list(req, ino, size));
    }
    try {
      this.handle = this.native.mount(
        mountpoint,
        ['dtar', '-o', opts.join(',')],
        { stats: this.stats, inName: this.inName, outNames: this.outNames, timeout: TIMEOUT_S, maxBackground: 64, congestion: 48 },
        handlers,
        () => this.markGone(),
      );
    } catch {
      watchdog.stop();
      throw new UsageError(`cannot mount at ${mountpoint} (libfuse said why above; is /dev/fuse there and fusermount3 installed?)`);
    }
    this.mountpointPath = mountpoint;
    this.watchdog = watchdog;
    // Asynchronous on purpose: the kernel asks this very thread for the root's attributes.
    const dev = (await stat(mountpoint)).dev;
    watchdog.mounted(devName(dev));
    await setReadAhead(dev, options.readAheadKb);
  }

  /** The request being dispatched, and whether it has been answered yet. */
  private current = 0;
  private answered = false;

  /**
   * Runs a handler; one that throws before answering gets EIO instead of killing the process
   * (which would leave the mount to the watchdog). Handlers answer exactly once by design;
   * this is the net under a defect, not a way to answer.
   */
  private guarded(req: number, handle: () => void): void {
    this.current = req;
    this.answered = false;
    try {
      handle();
    } catch (e) {
      if (!this.answered) this.replyErr(req, EIO);
      this.onDefect(e);
    } finally {
      this.current = 0;
    }
  }

  /** Told of a handler that threw (the mount reports it on stderr). */
  onDefect: (e: unknown) => void = () => undefined;

  private sent(req: number): boolean {
    if (req === this.current) this.answered = true;
    return this.handle !== null;
  }

  /** Unmounts (lazily, so a busy mount goes away once its users let go). */
  unmount(): Promise<void> {
    if (this.handle) this.native.unmount(this.handle);
    else this.markGone();
    return this.gone;
  }

  // ---- replies: each request is answered exactly once, by one of these ----

  /** Writes the attributes of one inode into record `slot`. */
  putAttributes(slot: number, a: Attributes): void {
    const r = this.stats;
    const at = slot * this.fields;
    const sec = Math.floor(a.mtimeMs / 1000);
    r[at + StatField.Ino] = a.ino;
    r[at + StatField.Mode] = a.mode;
    r[at + StatField.Nlink] = a.nlink;
    r[at + StatField.Uid] = a.uid;
    r[at + StatField.Gid] = a.gid;
    r[at + StatField.Rdev] = a.rdev;
    r[at + StatField.Size] = a.size;
    r[at + StatField.Blocks] = a.blocks;
    r[at + StatField.MtimeSec] = sec;
    r[at + StatField.MtimeNsec] = Math.min(999_999_999, Math.round((a.mtimeMs - sec * 1000) * 1e6));
  }


  replyErr(req: number, errno: number): void {
    if (this.sent(req)) this.native.replyErr(this.handle!, req, errno);
  }

  /** Answers a LOOKUP with the attributes in record 0. */
  replyEntry(req: number): void {
    if (this.sent(req)) this.native.replyEntry(this.handle!, req);
  }

  /** Answers a GETATTR with the attributes in record 0. */
  replyAttr(req: number): void {
    if (this.sent(req)) this.native.replyAttr(this.handle!, req);
  }

  replyData(req: number, data: Buffer, length: number): void {
    if (this.sent(req)) this.native.replyBuf(this.handle!, req, data, length);
  }

  replyReadlink(req: number, target: Buffer): void {
    if (this.sent(req)) this.native.replyReadlink(this.handle!, req, target);
  }

  /** Answers a READDIRPLUS with the entries from position `offset` on, as many as fit in `size` bytes. */
  replyDirectory(req: number, size: number, offset: number, listing: DirectoryListing): void {
    const names = this.outNames;
    let bytes = 0;
    let nameAt = 0;
    let n = 0;
    for (let pos = offset; pos < listing.count && n < DIR_RECORDS; pos++) {
      const name = listing.name(pos);
      const need = DIRENT_PLUS + ((name.length + 7) & ~7);
      if (bytes + need > size || nameAt + name.length + 1 > names.length) break;
      name.copy(names, nameAt);
      names[nameAt + name.length] = 0;
      const unresolved = listing.put(pos, n);
      const at = n * this.fields;
      this.stats[at + StatField.NameAt] = nameAt;
      this.stats[at + StatField.NextOffset] = pos + 1;
      this.stats[at + StatField.Unresolved] = unresolved ? 1 : 0;
      nameAt += name.length + 1;
      bytes += need;
      n++;
    }
    if (this.sent(req)) this.native.replyDirPlus(this.handle!, req, size, n);
  }

  replyXattrSize(req: number, size: number): void {
    if (this.sent(req)) this.native.replyXattrSize(this.handle!, req, size);
  }

  replyStatfs(req: number, blocks: number, files: number): void {
    if (this.sent(req)) this.native.replyStatfs(this.handle!, req, blocks, files);
  }
}

/**
 * A mount whose process died ("Transport endpoint is not connected") is taken down first.
 * statfs, not stat: a dead mount still stats from the kernel's cached attributes, but a
 * statfs always goes to the process serving it.
 */
async function clearDeadMount(mountpoint: string): Promise<void> {
  try {
    await statfs(mountpoint);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTCONN') await fusermount(['-uz', mountpoint]).catch(() => undefined);
  }
}

async function setReadAhead(dev: number, kb: number): Promise<void> {
  try {
    await writeFile(`/sys/class/bdi/${devName(dev)}/read_ahead_kb`, String(kb));
  } catch {
    // Not root: the kernel default (128 KiB) stays; reads are slower but correct.
  }
}
