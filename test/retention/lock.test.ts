/**
 * The store lock's protocol on a real local backend: every order of two takers' steps
 * (write own lock, list the others) that the afterWrite hook can force, stale locks by time
 * (an injected clock) and by a dead process, the holder's own check, and unlock; and the same
 * for a writer key's lock, taken and released without a single delete.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { StoreLockedError } from '../../src/errors';
import { listLocks, LockKind, LockOptions, REFRESH_MS, removeLocks, SAFE_MS, STALE_MS, StoreLock, WRITER_LOCKS_PREFIX } from '../../src/repo/lock';
import { LocalBackend } from '../../src/store/local';
import { makeTempDir, type TempDir } from '../support/tmp';

/** The store as a writer key's machine sees it: its credentials cannot delete (docs/S3.md). */
class NoDeleteBackend extends LocalBackend {
  override delete(key: string): Promise<void> {
    return Promise.reject(new Error(`a writer may not delete ${key}`));
  }
}

/** A writer key's shared lock, or an owner's lock of a kind. */
type Taker = LockKind | 'writer';

describe('store lock', () => {
  let tmp: TempDir;
  let backend: LocalBackend;
  let writerBackend: LocalBackend;
  let n = 0;
  before(async () => {
    tmp = await makeTempDir('lock');
  });
  beforeEach(() => {
    const dir = join(tmp.path, `store${n++}`);
    backend = new LocalBackend(dir);
    writerBackend = new NoDeleteBackend(dir);
  });
  after(() => tmp.cleanup());

  // One try each: the protocol itself, without the retries that follow a conflict.
  const opts = (extra: Partial<LockOptions> = {}): LockOptions => ({ command: 'test', isAlive: () => true, attempts: 1, ...extra });

  async function attempt(taker: Taker, o: LockOptions): Promise<StoreLock | StoreLockedError> {
    try {
      if (taker === 'writer') return await StoreLock.take(writerBackend, 'shared', { ...o, writer: true });
      return await StoreLock.take(backend, taker, o);
    } catch (e) {
      if (e instanceof StoreLockedError) return e;
      throw e;
    }
  }

  const pairs: [Taker, Taker][] = [
    ['shared', 'exclusive'],
    ['exclusive', 'shared'],
    ['exclusive', 'exclusive'],
    ['shared', 'shared'],
    ['writer', 'exclusive'],
    ['exclusive', 'writer'],
    ['writer', 'shared'],
    ['shared', 'writer'],
    ['writer', 'writer'],
  ];

  for (const [a, b] of pairs) {
    it(`${a} then ${b}: never both held when they conflict, in every order of their steps`, async () => {
      const conflict = a === 'exclusive' || b === 'exclusive';
      // 1. A done before B starts. 2. B whole between A's write and A's listing.
      // 3. B writes between A's write and listing, and lists after A has listed.
      const schedules: (() => Promise<[StoreLock | StoreLockedError, StoreLock | StoreLockedError]>)[] = [
        async () => {
          const x = await attempt(a, opts());
          return [x, await attempt(b, opts())];
        },
        async () => {
          let y: StoreLock | StoreLockedError | undefined;
          const x = await attempt(a, opts({ afterWrite: async () => void (y = await attempt(b, opts())) }));
          return [x, y!];
        },
        async () => {
          let bWritten!: () => void;
          const written = new Promise<void>((r) => (bWritten = r));
          let aListed!: () => void;
          const listed = new Promise<void>((r) => (aListed = r));
          const pb = attempt(b, opts({ afterWrite: async () => (bWritten(), listed) }));
          const x = await attempt(a, opts({ afterWrite: () => written }));
          aListed();
          return [x, await pb];
        },
      ];
      for (const [i, run] of schedules.entries()) {
        const [x, y] = await run();
        const held = [x, y].filter((l): l is StoreLock => l instanceof StoreLock);
        if (conflict) {
          assert.ok(held.length <= 1, `schedule ${i + 1}: both held`);
          assert.ok(held.length === 1 || i === 2, `schedule ${i + 1}: one of them gets the lock`);
          for (const e of [x, y]) if (e instanceof StoreLockedError) assert.match(e.message, /^the store is locked by locks\/(writer-)?[0-9a-f]{16}: (shared|exclusive) lock held by test, pid \d+ on /);
        } else assert.equal(held.length, 2, `schedule ${i + 1}: shared locks do not conflict`);
        for (const l of held) await l.release();
        // A writer cannot delete: what it refused or released stays, marked released, until a prune removes it.
        const left = await listLocks(backend);
        assert.ok(left.every((l) => l.stale && l.key.startsWith(WRITER_LOCKS_PREFIX) && /^released at /.test(l.note)), `schedule ${i + 1}: only released writer locks are left`);
        assert.equal(left.length, [a, b].filter((t) => t === 'writer').length, `schedule ${i + 1}: one per writer`);
        await removeLocks(backend, 'writers');
        assert.deepEqual(await listLocks(backend), [], `schedule ${i + 1}: a lock refused or released leaves nothing once pruned`);
      }
    });
  }

  it('ignores a lock not refreshed for STALE_MS, or whose process is gone from this host', async () => {
    let now = Date.parse('2026-12-01T00:00:00Z');
    const clock = (): number => now;
    const old = await StoreLock.take(backend, 'shared', opts({ now: clock, host: 'elsewhere' }));
    now += STALE_MS - 1;
    assert.ok((await attempt('exclusive', opts({ now: clock }))) instanceof StoreLockedError, 'fresh enough');
    now += 2;
    const p = await attempt('exclusive', opts({ now: clock }));
    assert.ok(p instanceof StoreLock, 'stale by time');
    await p.release();

    const dead = await StoreLock.take(backend, 'shared', opts({ now: clock, host: 'here', pid: 4242 }));
    const q = await attempt('exclusive', opts({ now: clock, host: 'here', isAlive: (pid) => pid !== 4242 }));
    assert.ok(q instanceof StoreLock, 'stale: its process is gone');
    await q.release();
    const r = await attempt('exclusive', opts({ now: clock, host: 'there' }));
    assert.ok(r instanceof StoreLockedError, 'from another host a process cannot be checked: alive until stale by time');

    // unlock: removes the stale ones only, unless --remove-all.
    const look = { now: clock, host: 'here', isAlive: (pid: number) => pid !== 4242 };
    const gone = await removeLocks(backend, 'stale', look);
    assert.deepEqual(gone.map((l) => l.key).sort(), [old.info.key, dead.info.key].sort());
    const live = await StoreLock.take(backend, 'shared', opts({ now: clock }));
    assert.deepEqual((await removeLocks(backend, 'stale', look)).length, 0);
    assert.deepEqual((await removeLocks(backend, 'all', look)).map((l) => [l.key, l.stale]), [[live.info.key, false]]);
    // The holder finds out before it publishes.
    await assert.rejects(live.check(), /was removed while this test ran/);
  });

  it("the holder's check fails once its refreshes fall behind by SAFE_MS, and a refresh that late does not put it right", async () => {
    let now = Date.parse('2026-12-01T00:00:00Z');
    const start = now;
    const lock = await StoreLock.take(backend, 'shared', opts({ now: () => now }));
    now += REFRESH_MS;
    await lock.check();
    now += SAFE_MS - REFRESH_MS;
    await lock.refresh();
    await lock.check();
    const [found] = await listLocks(backend, { now: () => now });
    assert.equal(found!.info!.refreshed, new Date(now).toISOString(), 'a refresh in time is written');
    now += SAFE_MS + 1;
    await assert.rejects(lock.check(), (e: unknown) => e instanceof StoreLockedError && /could not be refreshed for 25 minutes/.test(e.message));
    // A prune may already have taken it for stale: the late refresh must not make it look held all along.
    await lock.refresh();
    await assert.rejects(lock.check(), /could not be refreshed/);
    const [after] = await listLocks(backend, { now: () => now });
    assert.equal(after!.info!.refreshed, new Date(start + SAFE_MS).toISOString(), 'the late refresh wrote nothing');
    await lock.release();
  });

  it('an unreadable lock blocks prune (it cannot be judged) and unlock --remove-all removes it', async () => {
    await backend.put('locks/junk', Buffer.from('not json'));
    const e = await attempt('exclusive', opts());
    assert.ok(e instanceof StoreLockedError && /locks\/junk \(not a lock this dtar can read\)/.test(e.message));
    assert.equal((await removeLocks(backend, 'stale')).length, 0);
    assert.equal((await removeLocks(backend, 'all')).length, 1);
  });

  it("a writer key's lock: refreshed by overwriting, stale by time, found removed by listing, never deleted; prune clears only writers' stale locks", async () => {
    let now = Date.parse('2026-12-01T00:00:00Z');
    const clock = (): number => now;
    const w = await attempt('writer', opts({ now: clock, host: 'elsewhere' }));
    assert.ok(w instanceof StoreLock && w.info.key.startsWith(WRITER_LOCKS_PREFIX));
    now += REFRESH_MS;
    await w.refresh();
    await w.check();
    now += STALE_MS - 1;
    assert.ok((await attempt('exclusive', opts({ now: clock }))) instanceof StoreLockedError, 'refreshed: live');
    now += 2;
    await assert.rejects(w.check(), /could not be refreshed for 30 minutes/);
    // An owner's stale lock is unlock's to remove, with a message; prune clears the writers'.
    const owner = await StoreLock.take(backend, 'shared', opts({ now: () => now - STALE_MS - 1 }));
    const p = await attempt('exclusive', opts({ now: clock }));
    assert.ok(p instanceof StoreLock, 'stale by time');
    assert.deepEqual((await removeLocks(backend, 'writers', { now: clock })).map((l) => l.key), [w.info.key]);
    assert.deepEqual((await listLocks(backend, { now: clock })).map((l) => l.key).sort(), [owner.info.key, p.info.key].sort());
    await p.release();
    await owner.release();

    const v = await attempt('writer', opts({ now: clock }));
    assert.ok(v instanceof StoreLock);
    await removeLocks(backend, 'all', { now: clock });
    await assert.rejects(v.check('indexes/x'), /lock locks\/writer-[0-9a-f]{16} was removed while this test ran \(dtar unlock\?\); its index copy indexes\/x was stored before this was known, and a writer key cannot delete it/);
    await v.release();
    assert.deepEqual(await listLocks(backend), [], 'a writer whose lock was removed does not write it back');
  });
});
