/**
 * Prune beside an ingest into the same store. Deterministically: while an ingest's shared
 * lock is held, `dtar prune` refuses and deletes nothing; while a prune's exclusive lock is
 * held, `dtar ingest` refuses and stores nothing. Then both run at once as real processes,
 * round after round (a forget before each gives prune something to delete): whichever runs or
 * refuses, every archive left in the store restores byte for byte and verify stays clean;
 * every other round's ingest is a writer key's, whose lock it cannot delete.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { StoreLock } from '../../src/repo/lock';
import { LocalBackend } from '../../src/store/local';
import { dtar, ok, testStore, type TestStore } from '../support/dtar';
import { randomTar } from '../support/random';
import { assertOneLineError, walk } from '../reliability/support';

const LOCKED = /the store is locked by locks\/(writer-)?[0-9a-f]{16}: (shared|exclusive) lock held by (ingest|prune), pid \d+ on /;

describe('prune and ingest at once', () => {
  let s: TestStore;
  const tars = new Map<string, string>(); // archive name -> its tar
  let n = 0;

  async function newTar(): Promise<{ name: string; tar: string }> {
    const name = `a${n++}`;
    const tar = await randomTar(join(s.dir, name), { d: [400_000, 300_000, 1000] }, `${name}.tar`);
    tars.set(name, tar);
    return { name, tar };
  }

  /** The store's objects but its locks. */
  async function storeFiles(): Promise<string[]> {
    return (await walk(s.store)).filter((f) => !f.startsWith('locks/'));
  }

  /** Every archive in the store, brought back from its stored copy, restores to its tar. */
  async function assertAllRestore(): Promise<number> {
    const list = JSON.parse(ok(await dtar(['archives', '--json'], { env: s.env }), 'archives').stdout.toString()) as { id: string; name: string }[];
    for (const a of list) {
      const index = join(s.dir, `${a.id}.index.tar`);
      ok(await dtar(['archives', 'get', a.id, '-o', index, '-q'], { env: s.env }), 'archives get');
      const back = ok(await dtar(['restore', index], { env: s.env }), `restore ${a.name}`).stdout;
      assert.ok(back.equals(await readFile(tars.get(a.name)!)), `${a.name} restores byte for byte`);
    }
    ok(await dtar(['verify', '--read-data', '-q'], { env: s.env }), 'verify --read-data');
    return list.length;
  }

  before(async () => {
    s = await testStore();
    ok(await dtar(['init', '--brick-size', '1M'], { env: s.env }), 'init');
    for (let i = 0; i < 2; i++) {
      const { name, tar } = await newTar();
      ok(await dtar(['ingest', tar, '--name', name, '-o', '/dev/null', '-q'], { env: s.env }), 'ingest');
    }
  });
  after(() => s.cleanup());

  it('a held shared lock stops prune, a held exclusive lock stops ingest, and neither changes the store', async () => {
    ok(await dtar(['forget', 'a1', '-q'], { env: s.env }), 'forget');
    const backend = new LocalBackend(s.store);
    const ingestLock = await StoreLock.take(backend, 'shared', { command: 'ingest' });
    const files = await storeFiles();
    const p = await dtar(['prune'], { env: s.env });
    assertOneLineError(p, 3, LOCKED, 'prune');
    assert.deepEqual(await storeFiles(), files, 'prune deleted nothing');
    await ingestLock.release();

    const pruneLock = await StoreLock.take(backend, 'exclusive', { command: 'prune' });
    const { tar } = await newTar();
    const i = await dtar(['ingest', tar, '--name', 'refused', '-o', join(s.dir, 'refused.index.tar')], { env: s.env });
    assertOneLineError(i, 3, LOCKED, 'ingest');
    assert.deepEqual(await storeFiles(), files, 'ingest stored nothing');
    await pruneLock.release();
    await backend.close();

    ok(await dtar(['prune', '-q'], { env: s.env }), 'prune once the lock is gone');
    assert.equal(await assertAllRestore(), 1);
  });

  it('dtar unlock removes a lock whose process is gone, and a live one only with --remove-all, warning', async () => {
    const backend = new LocalBackend(s.store);
    const dead = await StoreLock.take(backend, 'shared', { command: 'ingest', pid: 2 ** 22 + 1 }); // above pid_max: never running
    const live = await StoreLock.take(backend, 'shared', { command: 'ingest' });
    const u = ok(await dtar(['unlock'], { env: s.env }), 'unlock');
    assert.equal(u.stderr, `removed ${dead.info.key}: shared lock held by ingest, pid ${2 ** 22 + 1} on ${dead.info.host}, since ${dead.info.created} (stale: process ${2 ** 22 + 1} is no longer running on ${dead.info.host})\n1 lock removed\n`);
    const all = ok(await dtar(['unlock', '--remove-all'], { env: s.env }), 'unlock --remove-all');
    assert.match(all.stderr, new RegExp(`^dtar: warning: removed ${live.info.key}: shared lock held by ingest, pid ${process.pid} .*which does not look stale: if that dtar is still running, a prune may now delete what it is storing\n1 lock removed\n$`));
    await assert.rejects(live.check(), /was removed while this ingest ran/);
    await backend.close();
  });

  it('run at once, round after round: every archive left restores', async () => {
    const keyPath = join(s.dir, 'w.key');
    ok(await dtar(['key', 'export-writer', '-o', keyPath, '--quiet'], { env: s.env }), 'export-writer');
    const writerEnv: NodeJS.ProcessEnv = { ...s.env, DTAR_KEY_FILE: keyPath, XDG_CACHE_HOME: join(s.dir, 'writer-cache') };
    delete writerEnv.DTAR_PASSWORD;
    const outcomes = new Map<string, number>();
    for (let round = 0; round < 8; round++) {
      const list = JSON.parse(ok(await dtar(['archives', '--json'], { env: s.env }), 'archives').stdout.toString()) as { id: string }[];
      if (list.length > 1) ok(await dtar(['forget', list[0]!.id, '-q'], { env: s.env }), 'forget the oldest');
      const { name, tar } = await newTar();
      const index = join(s.dir, `${name}.index.tar`);
      const ingester = round % 2 === 0 ? 'ingest' : 'writer ingest';
      const [ing, pr] = await Promise.all([dtar(['ingest', tar, '--name', name, '-o', index, '-q'], { env: round % 2 === 0 ? s.env : writerEnv }), dtar(['prune', '-q'], { env: s.env })]);
      for (const [what, r] of [[ingester, ing], ['prune', pr]] as const) {
        if (r.code !== 0) assertOneLineError(r, 3, LOCKED, `round ${round}: ${what}`);
        const key = `${what} ${r.code === 0 ? 'ran' : 'refused'}`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }
      if (ing.code === 0) {
        const back = ok(await dtar(['restore', index], { env: s.env }), 'restore').stdout;
        assert.ok(back.equals(await readFile(tar)), `round ${round}: the new archive restores`);
      }
      await assertAllRestore();
    }
    // What ran is up to the scheduler; the assertions above hold for every outcome.
    process.stdout.write(`# outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}\n`);
  });
});
