/**
 * The FUSE session on its own, served by this test process: a tiny filesystem whose
 * handlers answer now or later, and one that throws. A throwing handler costs its request an
 * EIO, not the process; replies that come later (after a wait) arrive. Every call on the
 * mount is asynchronous: this very event loop answers the kernel.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FuseSession, LowLevelFilesystem } from '../../src/mount/mount';

const { ENOENT } = constants.errno;
const FILES = [Buffer.from('now'), Buffer.from('later'), Buffer.from('throws')];
const DOT = Buffer.from('.');

let dir: string;
let session: FuseSession;
const defects: unknown[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dtar-session-'));
  session = new FuseSession();
  session.onDefect = (e) => defects.push(e);
  const put = (slot: number, ino: number): void =>
    session.putAttributes(slot, { ino, mode: ino === 1 ? 0o40755 : 0o100644, nlink: 1, uid: 0, gid: 0, rdev: 0, size: ino === 1 ? 0 : 5, blocks: 1, mtimeMs: 0 });
  const fs: LowLevelFilesystem = {
    lookup(req, parent, name) {
      const i = FILES.findIndex((f) => f.equals(name));
      if (parent !== 1 || i < 0) return session.replyErr(req, ENOENT);
      put(0, i + 2);
      session.replyEntry(req);
    },
    getattr(req, ino) {
      if (ino === 4) throw new Error('a defect in getattr');
      put(0, ino);
      session.replyAttr(req);
    },
    readlink(req) {
      session.replyErr(req, ENOENT);
    },
    read(req, ino) {
      if (ino === 4) throw new Error('a defect in read');
      const data = Buffer.from('hello');
      if (ino === 2) return session.replyData(req, data, 5);
      setTimeout(() => session.replyData(req, Buffer.from('later'), 5), 20);
    },
    readdirplus(req, _ino, size, offset) {
      session.replyDirectory(req, size, offset, {
        count: FILES.length + 1,
        name: (pos) => (pos === 0 ? DOT : FILES[pos - 1]!),
        put: (pos, slot) => {
          put(slot, pos === 0 ? 1 : pos + 1);
          return false;
        },
      });
    },
    statfs(req) {
      session.replyStatfs(req, 0, 3);
    },
  };
  await session.mount(dir, fs, { allowOther: false, fsname: 'dtar-session-test', readAheadKb: 128 });
});

after(async () => {
  await session?.unmount();
  await rm(dir, { recursive: true, force: true });
});

test('answers given at once and answers given later both arrive', async () => {
  assert.deepEqual((await readdir(dir)).sort(), ['later', 'now', 'throws']);
  assert.equal(await readFile(join(dir, 'now'), 'utf8'), 'hello');
  assert.equal(await readFile(join(dir, 'later'), 'utf8'), 'later');
});

test('a handler that throws costs its request an EIO, and the mount goes on', async () => {
  // READDIRPLUS gave the kernel the attributes already; reading reaches the throwing handler.
  await assert.rejects(readFile(join(dir, 'throws')), { code: 'EIO' });
  assert.ok(defects.some((e) => e instanceof Error && e.message === 'a defect in read'));
  assert.equal((await stat(join(dir, 'now'))).size, 5);
  assert.equal(await readFile(join(dir, 'now'), 'utf8'), 'hello');
});

test('unmounting settles `gone`', async () => {
  await session.unmount();
  await session.gone;
  await assert.rejects(readFile(join(dir, 'now')), { code: 'ENOENT' });
});
