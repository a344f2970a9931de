/**
 * Mounting and unmounting: fuse-native with the libfuse options it does not pass itself
 * (read-only, our inode numbers, deep background queues), a larger kernel read-ahead
 * for the new mount, and a promise that settles when the mount goes away, whether we
 * unmount it or someone runs `fusermount -u` / `dtar umount`.
 */
import { execFile } from 'node:child_process';
import { stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import Fuse from 'fuse-native';
import loadBinding from 'node-gyp-build';
import { UsageError } from '../errors';

export interface MountOptions {
  allowOther: boolean;
  /** Shown as the mount's source in /proc/mounts. */
  fsname: string;
  /** Kernel read-ahead for the mount, in KiB (sysfs; only root may set it). */
  readAheadKb: number;
  /** JavaScript-side timeout of a read, in ms: reads wait on the store. */
  readTimeoutMs: number;
}

/**
 * ro: writes fail with EROFS, not ENOSYS. use_ino: st_ino is ours (hard links share one).
 * max_background/congestion_threshold: many read-ahead requests in flight at once, which
 * is where throughput against a slow store comes from (native-notes/fuse.md).
 */
const EXTRA_OPTIONS = ['ro', 'use_ino', 'max_background=64', 'congestion_threshold=48'];

class DtarFuse extends Fuse {
  protected override _fuseOptions(): string {
    const base = super._fuseOptions();
    return (base ? base + ',' : '-o') + EXTRA_OPTIONS.join(',');
  }

  /**
   * After an unmount done elsewhere, fuse-native's own unmount() fails (fusermount finds
   * nothing to unmount) and never releases the native loop handle, which would keep the
   * process alive: release it directly.
   */
  releaseUnmounted(): void {
    loadBinding(dirname(require.resolve('fuse-native'))).fuse_native_unmount(this.mnt, this._thread);
  }
}

/** Unmounts a dtar mount served by another process (`dtar umount`); its process then exits. */
export function unmountElsewhere(mountpoint: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('fusermount', ['-u', mountpoint], (err, _stdout, stderr) => {
      if (err) reject(new UsageError(`cannot unmount ${mountpoint}: ${stderr.trim() || err.message}`));
      else resolve();
    });
  });
}

/** Linux's dev_t split, as sysfs names a backing device "major:minor". */
function devName(dev: number): string {
  return `${Math.floor(dev / 256) & 0xfff}:${(dev & 0xff) | (Math.floor(dev / 4096) & 0xfff00)}`;
}

export class ArchiveMount {
  private closing: Promise<void> | null = null;
  private watcher: NodeJS.Timeout | null = null;
  /** Settles when the filesystem is no longer mounted. */
  readonly gone: Promise<void>;
  private markGone!: () => void;

  private constructor(
    private readonly fuse: DtarFuse,
    readonly mountpoint: string,
    private readonly dev: number,
  ) {
    this.gone = new Promise((resolve) => (this.markGone = resolve));
  }

  static async mount(mountpoint: string, ops: Fuse.Operations, options: MountOptions): Promise<ArchiveMount> {
    let before;
    try {
      before = await stat(mountpoint);
    } catch {
      throw new UsageError(`mount point ${mountpoint} does not exist`);
    }
    if (!before.isDirectory()) throw new UsageError(`mount point ${mountpoint} is not a directory`);
    const fuse = new DtarFuse(mountpoint, ops, {
      timeout: { default: 30_000, read: options.readTimeoutMs },
      force: true, // clears a dead mount left by a killed process
      autoUnmount: true, // and if this one is killed, the kernel side goes away with it
      allowOther: options.allowOther,
      fsname: options.fsname,
      subtype: 'dtar',
      // The archive never changes: the kernel may keep names, attributes and pages for long.
      entryTimeout: 3600,
      attrTimeout: 3600,
      kernelCache: true,
    });
    await new Promise<void>((resolve, reject) =>
      fuse.mount((err) => (err ? reject(new UsageError(`cannot mount at ${mountpoint}: ${err.message}`)) : resolve())),
    );
    const dev = (await stat(mountpoint)).dev;
    const m = new ArchiveMount(fuse, fuse.mnt, dev);
    await m.setReadAhead(options.readAheadKb);
    m.watch();
    return m;
  }

  private async setReadAhead(kb: number): Promise<void> {
    try {
      await writeFile(`/sys/class/bdi/${devName(this.dev)}/read_ahead_kb`, String(kb));
    } catch {
      // Not root: the kernel default (128 KiB) stays; reads are slower but correct.
    }
  }

  /** Notices an unmount done by someone else (fusermount -u, dtar umount). */
  private watch(): void {
    this.watcher = setInterval(() => {
      stat(this.mountpoint).then(
        (s) => {
          if (s.dev !== this.dev) this.goneElsewhere();
        },
        (e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOTCONN') this.goneElsewhere();
        },
      );
    }, 500);
  }

  private goneElsewhere(): void {
    if (this.closing) return;
    this.closing = Promise.resolve();
    this.fuse.releaseUnmounted();
    this.finish();
  }

  private finish(): void {
    if (this.watcher) clearInterval(this.watcher);
    this.watcher = null;
    this.markGone();
  }

  /** Unmounts (lazily, so a busy mount goes away once its users let go). */
  unmount(): Promise<void> {
    this.closing ??= new Promise<void>((resolve, reject) => {
      this.fuse.unmount((err) => {
        this.finish();
        if (err) reject(new UsageError(`cannot unmount ${this.mountpoint}: ${err.message}`));
        else resolve();
      });
    });
    return this.closing;
  }
}
