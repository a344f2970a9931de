/**
 * Writes one archive entry into the target directory: regular files (sparse ones with real
 * holes), directories, symbolic and hard links, FIFOs and, as root, devices; then its mode,
 * owner and times, as GNU tar's --same-owner and --same-permissions (or their --no- forms)
 * say. An existing entry at the same place is replaced, never written through. Directories
 * get their mode and times at the end, deepest first, so that a read-only or freshly timed
 * directory does not stop or disturb what goes inside it.
 *
 * System calls are made synchronously, as `tar x` makes them: a file is a handful of them,
 * a few microseconds each, where each promise's round trip through Node's thread pool cost
 * tens, and an archive of many small files spent most of its time waiting on those.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, fchmodSync, fchownSync, ftruncateSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, renameSync, rmdirSync, symlinkSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DtarError, systemErrorReason, UnsafePathError } from '../errors';
import type { SparseInfo, TarHeader } from '../tar/types';
import { BodyLayout } from './layout';
import type { Placement, TargetDir } from './target';

const run = promisify(execFile);

export interface BodySource {
  sparse: SparseInfo | null;
  /** Size of the expanded file. */
  size: number;
  /** The stored body in order; null at its end. */
  read(): Promise<Buffer | null>;
}

/** What of an entry's metadata is applied, with GNU tar's meaning and defaults (root: both; others: neither). */
export interface Preserve {
  /** The archived numeric owner and group (--same-owner; only root may): else the extracting user's. */
  owner: boolean;
  /**
   * The archived mode, setuid, setgid and sticky bits included (--same-permissions); else
   * only its read, write and execute bits, less those in `umask`.
   */
  permissions: boolean;
  umask: number;
}

export interface WriterOptions {
  /** Create devices (only root may). */
  asRoot: boolean;
  preserve: Preserve;
  warn(message: string): void;
  /** Called with the bytes of each piece of file contents written. */
  onBytes?(n: number): void;
}

interface PendingDir {
  placement: Placement;
  header: TarHeader;
}

export class EntryWriter {
  private readonly dirs: PendingDir[] = [];

  constructor(
    private readonly target: TargetDir,
    private readonly opts: WriterOptions,
  ) {}

  /** Writes an entry; `linkTarget` is where a hard link points (already placed and checked). */
  async write(p: Placement, h: TarHeader, body: BodySource | null, linkTarget: Placement | null): Promise<void> {
    if (p.components.length === 0) return; // DIR itself: its own mode and times are the user's
    this.target.prepareParents(p);
    switch (h.type) {
      case 'directory':
        return this.directory(p, h);
      case 'file':
      case 'contiguous':
        return this.file(p, h, body);
      case 'symlink':
        this.clear(p);
        symlinkSync(h.linkpathBytes, p.full);
        if (this.opts.preserve.owner) lchownSync(p.full, h.uid, h.gid);
        lutimesSync(p.full, h.atime ?? h.mtime, h.mtime);
        return;
      case 'hardlink':
        if (!linkTarget) throw new UnsafePathError(p.display, 'hard link without a target');
        this.target.prepareParents(linkTarget, false);
        this.clear(p);
        linkSync(linkTarget.full, p.full);
        return;
      case 'fifo':
      case 'chardev':
      case 'blockdev':
        return this.node(p, h);
      default:
        this.opts.warn(`${p.display}: skipped, dtar does not extract ${h.type} entries`);
    }
  }

  /** Removes what is at the member's place, unless it is a directory and a directory goes there. */
  private clear(p: Placement, keepDirectory = false): boolean {
    const st = lstatSync(p.full, { throwIfNoEntry: false });
    if (!st) return false;
    if (st.isDirectory()) {
      if (keepDirectory) return true;
      rmdirSync(p.full);
    } else unlinkSync(p.full);
    this.target.forget(p.full);
    return false;
  }

  private directory(p: Placement, h: TarHeader): void {
    // Writable by us until finish() gives it its own mode. Made first, looked at only when
    // something is there already (a fresh directory, which most are, costs no lstat).
    if (!tryCreate(() => mkdirSync(p.full, { mode: 0o700 })) && !this.clear(p, true)) mkdirSync(p.full, { mode: 0o700 });
    this.dirs.push({ placement: p, header: h });
  }

  private async file(p: Placement, h: TarHeader, body: BodySource | null): Promise<void> {
    // O_EXCL: whatever is at the name (a symlink too) is not followed, but cleared, and the
    // file made again; as with directories, only then is the name looked at.
    const create = (): number => openSync(p.full, 'wx', 0o600);
    let fd = -1;
    if (!tryCreate(() => (fd = create()))) {
      this.clear(p);
      fd = create();
    }
    try {
      if (body) {
        const layout = new BodyLayout(body.sparse, p.display);
        for (let data = await body.read(); data; data = await body.read()) {
          for (const piece of layout.place(data)) {
            for (let done = 0; done < piece.data.length; ) done += writeSync(fd, piece.data, done, piece.data.length - done, piece.offset + done);
            this.opts.onBytes?.(piece.data.length);
          }
        }
        // Trailing holes: the size without writing them.
        if (body.sparse) ftruncateSync(fd, body.size);
      }
      if (this.opts.preserve.owner) fchownSync(fd, h.uid, h.gid);
      fchmodSync(fd, this.mode(h));
      futimesSync(fd, h.atime ?? h.mtime, h.mtime);
    } catch (e) {
      closeSync(fd);
      try {
        unlinkSync(p.full);
      } catch {
        // gone already: nothing to take back
      }
      throw e;
    }
    closeSync(fd);
  }

  /** FIFOs and devices, made under a temporary ASCII name (the tools take text) and renamed into place. */
  private async node(p: Placement, h: TarHeader): Promise<void> {
    if (h.type !== 'fifo' && !this.opts.asRoot) {
      this.opts.warn(`${p.display}: skipped, only root can create devices`);
      return;
    }
    this.clear(p);
    const tmp = join(this.target.root, `.dtar-node-${randomBytes(6).toString('hex')}`);
    if (h.type === 'fifo') await run('mkfifo', ['-m', '600', tmp]);
    else await run('mknod', ['-m', '600', tmp, h.type === 'chardev' ? 'c' : 'b', String(h.devmajor), String(h.devminor)]);
    try {
      renameSync(tmp, p.full);
    } catch (e) {
      try {
        unlinkSync(tmp);
      } catch {
        // gone already
      }
      throw e;
    }
    this.metadata(p.full, h);
  }

  /** The mode to give an entry; set after its owner, since chown clears setuid and setgid. */
  private mode(h: TarHeader): number {
    const p = this.opts.preserve;
    return p.permissions ? h.mode & 0o7777 : h.mode & 0o777 & ~p.umask;
  }

  private metadata(full: Buffer, h: TarHeader): void {
    if (this.opts.preserve.owner) chownSync(full, h.uid, h.gid);
    chmodSync(full, this.mode(h));
    utimesSync(full, h.atime ?? h.mtime, h.mtime);
  }

  /** Gives directories their modes, owners and times, deepest first; re-checked, never through a link. */
  async finish(): Promise<void> {
    const dirs = this.dirs.splice(0).sort((a, b) => b.placement.components.length - a.placement.components.length);
    for (const d of dirs) {
      try {
        this.target.prepareParents(d.placement, false);
        if (!lstatSync(d.placement.full).isDirectory()) continue;
        this.metadata(d.placement.full, d.header);
      } catch (e) {
        this.opts.warn(`${d.placement.display}: could not set the directory's mode and times: ${e instanceof DtarError ? e.message : (systemErrorReason(e) ?? (e as Error).message)}`);
      }
    }
  }
}

/** Runs a create that fails with EEXIST when the name is taken: false then, else true. */
function tryCreate(create: () => void): boolean {
  try {
    create();
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}
