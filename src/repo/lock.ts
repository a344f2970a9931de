/**
 * The store lock: an ingest holds a shared lock from before it loads the catalogue until its
 * index copy is stored; prune holds an exclusive one while it decides and deletes. So prune
 * never deletes a brick that a running ingest deduplicates against or has written but not yet
 * referenced from an index copy (docs/ARCHITECTURE.md, "Retention and the store lock").
 *
 * A lock is an object `locks/<random>` (plain JSON: kind, host, pid, times). Taking one needs
 * no atomic test-and-set, only that a listing shows every object whose put completed before
 * it began (S3 and a local directory both do): write your own lock, then list. Of two that
 * conflict, the one whose put completed later sees the other in its listing, so at least one
 * of them backs off (both may: then both fail and are run again). A lock is refreshed every
 * REFRESH_MS; one not refreshed for STALE_MS, or whose process is gone from this host, is
 * stale and ignored. A holder whose refreshes fell behind by more than SAFE_MS stops before it
 * publishes anything (`check`), since another dtar may have taken its lock for stale.
 *
 * A writer key's machine may not delete (docs/S3.md), so its shared lock is `locks/writer-<random>`
 * (the only lock key its IAM policy lets it write), refreshed by overwriting it, and released,
 * or withdrawn after a conflict, by overwriting it with a `released` time: a released lock is
 * stale at once, and prune (which may delete) removes it. It finds out whether its lock is
 * still there by listing, since S3 answers a HEAD of a missing key with 403 to those who may
 * not list the whole bucket.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { NotFoundError, StoreLockedError } from '../errors';
import type { Backend } from '../store/backend';

export const LOCKS_PREFIX = 'locks/';
/** Where a writer key's locks go: its IAM policy lets it write there and nowhere else in locks/. */
export const WRITER_LOCKS_PREFIX = `${LOCKS_PREFIX}writer-`;
export const REFRESH_MS = 5 * 60_000;
export const STALE_MS = 30 * 60_000;
/** How late a holder's last refresh may be before it stops: STALE_MS less a margin for clock skew. */
export const SAFE_MS = 25 * 60_000;
/** How long a release may take, retries included, before the lock is left behind with a warning (to go stale, or for `dtar unlock`). */
export const RELEASE_TIMEOUT_MS = 30_000;

export type LockKind = 'shared' | 'exclusive';

export interface LockInfo {
  key: string;
  kind: LockKind;
  host: string;
  pid: number;
  command: string;
  created: string;
  refreshed: string;
  /** When a holder that may not delete released its lock (a writer key's). */
  released?: string;
}

/** A lock found in the store: its record (null when it cannot be read) and whether it is stale. */
export interface FoundLock {
  key: string;
  info: LockInfo | null;
  stale: boolean;
  /** Why it is stale, or why it is not readable. */
  note: string;
}

export interface LockOptions {
  /** What holds it, for messages ("ingest", "prune"). */
  command: string;
  now?: () => number;
  host?: string;
  pid?: number;
  /** Whether a process of this host is running (default: signal 0). */
  isAlive?: (pid: number) => boolean;
  /** Called between writing the lock and listing the others: lets tests interleave two takers exactly. */
  afterWrite?: () => Promise<void>;
  /** Tries before giving up on a conflicting lock (default 4): two dtars that started together both back off, then try again at random times. */
  attempts?: number;
  /** The holder may not delete (a writer key): it releases its lock by marking it released (a shared lock only). */
  writer?: boolean;
  /** Where the warning of a lock that could not be released goes (one line). */
  warn?: (line: string) => void;
  /** Default RELEASE_TIMEOUT_MS; tests shorten it. */
  releaseTimeoutMs?: number;
}

/** Before try `n` (from 1): a random wait of up to 250 ms · 2^n, so two takers that collided do not collide again. */
function backoff(n: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 250 * 2 ** n));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseLock(key: string, bytes: Buffer): LockInfo | null {
  try {
    const o = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    const { kind, host, pid, command, created, refreshed, released } = o;
    if (o['version'] !== 1 || (kind !== 'shared' && kind !== 'exclusive')) return null;
    if (typeof host !== 'string' || typeof pid !== 'number' || typeof command !== 'string' || typeof created !== 'string' || typeof refreshed !== 'string') return null;
    if (Number.isNaN(Date.parse(refreshed)) || (released !== undefined && typeof released !== 'string')) return null;
    return { key, kind, host, pid, command, created, refreshed, ...(released === undefined ? {} : { released }) };
  } catch {
    return null;
  }
}

/** Every lock in the store, each judged stale or not. */
export async function listLocks(backend: Backend, opts: Pick<LockOptions, 'now' | 'host' | 'isAlive'> = {}): Promise<FoundLock[]> {
  const now = (opts.now ?? Date.now)();
  const host = opts.host ?? hostname();
  const alive = opts.isAlive ?? processAlive;
  const out: FoundLock[] = [];
  for await (const o of backend.list(LOCKS_PREFIX)) {
    let bytes: Buffer;
    try {
      bytes = await backend.get(o.key, { maxLength: 64 * 1024 });
    } catch (e) {
      if (e instanceof NotFoundError) continue; // released since the listing
      throw e;
    }
    const info = parseLock(o.key, bytes);
    if (!info) {
      out.push({ key: o.key, info, stale: false, note: 'not a lock this dtar can read' });
      continue;
    }
    const age = now - Date.parse(info.refreshed);
    if (info.released !== undefined) out.push({ key: o.key, info, stale: true, note: `released at ${info.released}` });
    else if (info.host === host && !alive(info.pid)) out.push({ key: o.key, info, stale: true, note: `process ${info.pid} is no longer running on ${host}` });
    else if (age > STALE_MS) out.push({ key: o.key, info, stale: true, note: `not refreshed for ${Math.round(age / 60_000)} minutes` });
    else out.push({ key: o.key, info, stale: false, note: '' });
  }
  return out;
}

/** "locks/…: exclusive lock held by prune, pid 123 on h, since …" */
export function describeLock(l: FoundLock): string {
  if (!l.info) return `${l.key} (${l.note})`;
  return `${l.key}: ${l.info.kind} lock held by ${l.info.command}, pid ${l.info.pid} on ${l.info.host}, since ${l.info.created}${l.stale ? ` (stale: ${l.note})` : ''}`;
}

export class StoreLock {
  private timer: NodeJS.Timeout | null = null;
  private lastRefresh: number;
  private lost = false;
  private refreshing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly backend: Backend,
    readonly info: LockInfo,
    private readonly now: () => number,
    /** Whether this holder may not delete (a writer key): then it releases by marking its lock released. */
    readonly writer: boolean,
    private readonly warn: (line: string) => void,
    private readonly releaseTimeoutMs: number,
  ) {
    this.lastRefresh = now();
  }

  /**
   * Takes a lock of `kind`, or throws StoreLockedError naming a conflicting lock that is not
   * stale (shared locks conflict only with exclusive ones). Stale locks are ignored. After a
   * conflict it tries again, up to `attempts` times in all (about 4 s with the default).
   */
  static async take(backend: Backend, kind: LockKind, opts: LockOptions): Promise<StoreLock> {
    const attempts = opts.attempts ?? 4;
    for (let n = 1; ; n++) {
      try {
        return await StoreLock.takeOnce(backend, kind, opts);
      } catch (e) {
        if (!(e instanceof StoreLockedError) || n >= attempts) throw e;
        await backoff(n);
      }
    }
  }

  private static async takeOnce(backend: Backend, kind: LockKind, opts: LockOptions): Promise<StoreLock> {
    const now = opts.now ?? Date.now;
    const at = new Date(now()).toISOString();
    const key = `${opts.writer ? WRITER_LOCKS_PREFIX : LOCKS_PREFIX}${randomBytes(8).toString('hex')}`;
    const info: LockInfo = { key, kind, host: opts.host ?? hostname(), pid: opts.pid ?? process.pid, command: opts.command, created: at, refreshed: at };
    const lock = new StoreLock(backend, info, now, Boolean(opts.writer), opts.warn ?? (() => undefined), opts.releaseTimeoutMs ?? RELEASE_TIMEOUT_MS);
    await lock.write({ ifAbsent: true });
    try {
      await opts.afterWrite?.();
      const others = (await listLocks(backend, opts)).filter((l) => l.key !== info.key && !l.stale);
      const conflict = others.find((l) => kind === 'exclusive' || l.info === null || l.info.kind === 'exclusive');
      if (conflict) {
        throw new StoreLockedError(
          `the store is locked by ${describeLock(conflict)}; ${kind === 'exclusive' ? 'prune needs the store to itself' : 'an ingest cannot run during a prune'}: run this again once it has finished (\`dtar unlock\` removes locks of dtars that are no longer running)`,
        );
      }
    } catch (e) {
      await lock.release(false);
      throw e;
    }
    lock.timer = setInterval(() => {
      lock.refreshing = lock.refresh();
    }, REFRESH_MS);
    lock.timer.unref();
    return lock;
  }

  /** Whether the lock is still in the store; by listing, which a writer key may do where a HEAD of a missing key answers it 403. */
  private async present(): Promise<boolean> {
    for await (const o of this.backend.list(LOCKS_PREFIX)) if (o.key === this.info.key) return true;
    return false;
  }

  /** Deletes the lock, or a writer marks it released (it may not delete), unless it is gone already. */
  private async drop(): Promise<void> {
    if (!this.writer) return this.backend.delete(this.info.key);
    if (this.lost) return;
    this.info.released = new Date(this.now()).toISOString();
    await this.write();
  }

  private async write(opts: { ifAbsent?: boolean } = {}): Promise<void> {
    const { key, ...body } = this.info;
    await this.backend.put(key, Buffer.from(JSON.stringify({ version: 1, ...body }) + '\n'), opts);
  }

  /** Writes the lock again with a new time, unless it was removed (`dtar unlock`): then it is lost. */
  async refresh(): Promise<void> {
    // Once SAFE_MS late, another dtar may have taken the lock for stale and begun: a refresh would hide that from check().
    if (this.lost || this.now() - this.lastRefresh > SAFE_MS) return;
    try {
      if (!(await this.present())) {
        this.lost = true;
        return;
      }
      const at = this.now();
      this.info.refreshed = new Date(at).toISOString();
      await this.write();
      this.lastRefresh = at;
    } catch {
      // Counted by check(): a refresh that keeps failing makes the lock unsafe to rely on.
    }
  }

  /**
   * Throws unless the lock is still in the store and was refreshed recently enough that no other
   * dtar takes it for stale. `stored`: an index copy already stored that this holder cannot delete (a writer key's), named in the error.
   */
  async check(stored?: string): Promise<void> {
    if (!this.lost && !(await this.present())) this.lost = true;
    const late = this.now() - this.lastRefresh;
    const outcome = stored ? `its index copy ${stored} was stored before this was known, and a writer key cannot delete it: \`dtar forget\` that archive, or check it with \`dtar verify --read-data\`` : 'stopped before publishing anything';
    if (this.lost) throw new StoreLockedError(`the ${this.info.kind} lock ${this.info.key} was removed while this ${this.info.command} ran (dtar unlock?); ${outcome}`);
    if (late > SAFE_MS) throw new StoreLockedError(`the ${this.info.kind} lock ${this.info.key} could not be refreshed for ${Math.round(late / 60_000)} minutes, so another dtar may have taken it for stale; ${outcome}`);
  }

  /**
   * Stops refreshing and removes the lock (a writer marks it released). Never throws, and waits
   * at most releaseTimeoutMs: a store that does not answer must not keep a finished (or failed)
   * dtar running. A lock left behind is named in a warning, unless `warnIfLeft` is false (a
   * command that failed: its error is the one line it reports); the command then ends, and
   * closing the store cuts the request still waiting.
   */
  async release(warnIfLeft = true): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`no answer in ${this.releaseTimeoutMs / 1000} s`), this.releaseTimeoutMs);
    });
    const dropped = this.refreshing.then(() => this.drop()).then(
      () => null,
      (e: unknown) => (e instanceof Error ? e.message : String(e)),
    );
    const failure = await Promise.race([dropped, timedOut]);
    clearTimeout(timer);
    if (failure === null || !warnIfLeft) return;
    this.warn(`warning: could not release the store lock ${this.info.key} (${failure}); it counts as stale ${Math.round(STALE_MS / 60_000)} minutes after its last refresh, or \`dtar unlock\` removes it once this dtar has ended`);
  }
}

/**
 * Removes the stale locks, every lock (`all`), or the stale writer-key locks (`writers`: what
 * prune clears up, since a writer key cannot delete the lock it released); returns those removed.
 */
export async function removeLocks(backend: Backend, which: 'stale' | 'all' | 'writers', opts: Pick<LockOptions, 'now' | 'host' | 'isAlive'> = {}): Promise<FoundLock[]> {
  const removed: FoundLock[] = [];
  for (const l of await listLocks(backend, opts)) {
    if (which !== 'all' && !l.stale) continue;
    if (which === 'writers' && !l.key.startsWith(WRITER_LOCKS_PREFIX)) continue;
    await backend.delete(l.key);
    removed.push(l);
  }
  return removed;
}
