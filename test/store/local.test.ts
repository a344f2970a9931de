/**
 * LocalBackend: the conformance suite, plus what only a directory store has: file layout,
 * private permissions, no temp files left behind, and file-system errors as BackendError.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmod, chown, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BackendError, NotFoundError } from '../../src/errors';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { dropFront, LocalBackend } from '../../src/store/local';
import { openBackend } from '../../src/store/open';
import { makeTempDir, type TempDir } from '../support/tmp';
import { failingAfter, listKeys, runConformance, WHOLE } from './conformance';

runConformance('LocalBackend', async () => {
  const tmp = await makeTempDir('local-conf');
  return { backend: new LocalBackend(path.join(tmp.path, 'store')), cleanup: tmp.cleanup };
});

// What commands use for a file:// location (the same LocalBackend, no wrappers today).
runConformance('openBackend(file://...)', async () => {
  const tmp = await makeTempDir('local-conf-url');
  return { backend: openBackend(pathToFileURL(path.join(tmp.path, 'store')).href), cleanup: tmp.cleanup };
});

/** nobody's uid and gid, from the user database. */
async function nobody(): Promise<[number, number]> {
  const { stdout } = await promisify(execFile)('id', ['-u', 'nobody']);
  const { stdout: gid } = await promisify(execFile)('id', ['-g', 'nobody']);
  return [Number(stdout), Number(gid)];
}

describe('LocalBackend specifics', () => {
  it('resumes a short gathered write at the right byte', () => {
    const pieces = [Buffer.from('abc'), Buffer.from('de'), Buffer.from('fghi')];
    const whole = Buffer.concat(pieces).toString();
    for (let n = 0; n < whole.length; n++) {
      assert.equal(Buffer.concat(dropFront(pieces, n)).toString(), whole.slice(n), `after ${n} bytes`);
    }
  });

  let tmp: TempDir;
  let root: string;
  let be: LocalBackend;
  before(async () => {
    tmp = await makeTempDir('local');
    root = path.join(tmp.path, 'store');
    be = new LocalBackend(root);
  });
  after(() => tmp.cleanup());

  it('reads a range into the buffer it is given, so readers can recycle memory', async () => {
    assert.equal(be.cheapRanges, true);
    await be.put('into/obj', Buffer.from('0123456789'));
    const into = Buffer.alloc(16);
    const got = await be.get('into/obj', { offset: 2, length: 5 }, into);
    assert.equal(got.toString(), '23456');
    assert.equal(got.buffer, into.buffer);
    assert.equal(got.byteOffset, into.byteOffset);
  });

  it('maps keys to files under the directory, created private', async () => {
    await be.put('bricks/ab/abcdef', Buffer.from('brick'));
    const file = path.join(root, 'bricks', 'ab', 'abcdef');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    for (const dir of [root, path.join(root, 'bricks'), path.join(root, 'bricks', 'ab')]) {
      assert.equal((await stat(dir)).mode & 0o777, 0o700, dir);
    }
  });

  it('leaves no temp files after successful, failed and losing puts', async () => {
    await be.put('tidy/ok', Buffer.from('1'));
    await assert.rejects(be.put('tidy/broken', failingAfter(1024 * 1024)));
    await be.put('tidy/once', Buffer.from('a'), { ifAbsent: true });
    await assert.rejects(be.put('tidy/once', Buffer.from('b'), { ifAbsent: true }));
    assert.deepEqual((await readdir(path.join(root, 'tidy'))).sort(), ['ok', 'once']);
  });

  it('does not list stray temp files or non-files', async () => {
    await mkdir(path.join(root, 'stray'), { recursive: true });
    await writeFile(path.join(root, 'stray', '.tmp-deadbeef'), 'partial');
    await be.put('stray/real', Buffer.from('r'));
    assert.deepEqual(await listKeys(be, 'stray/'), ['stray/real']);
  });

  it('reports a key under a file as BackendError naming the operation and key', async () => {
    await be.put('plainfile', Buffer.from('f'));
    await assert.rejects(
      be.put('plainfile/child', Buffer.from('c')),
      (err: unknown) => err instanceof BackendError && err.message.startsWith(`local store ${root}: put plainfile/child: ENOTDIR`),
    );
    assert.equal(await be.stat('plainfile/child'), null);
    await assert.rejects(be.get('plainfile/child', WHOLE), NotFoundError);
  });

  it('reports permission failures as BackendError naming the operation and key', async () => {
    // Root ignores file modes: the puts run as nobody then (as CI runs the suite as root).
    const dir = path.join(tmp.path, 'unprivileged');
    const script = [
      `const { chmodSync } = require('node:fs');`,
      `const { LocalBackend } = require(${JSON.stringify(require.resolve('../../src/store/local'))});`,
      `const { BackendError } = require(${JSON.stringify(require.resolve('../../src/errors'))});`,
      `const be = new LocalBackend(${JSON.stringify(dir)});`,
      `(async () => {`,
      `  await be.put('locked/a', Buffer.from('a'));`,
      `  chmodSync(${JSON.stringify(path.join(dir, 'locked'))}, 0o500);`,
      `  try { await be.put('locked/b', Buffer.from('b')); console.log(JSON.stringify({ put: true })); }`,
      `  catch (e) { console.log(JSON.stringify({ put: false, backendError: e instanceof BackendError, message: e.message })); }`,
      `})();`,
    ].join('\n');
    const argv = [process.execPath, '-e', script];
    if (process.getuid?.() === 0) {
      await chmod(tmp.path, 0o711); // nobody passes through to its own store directory
      await mkdir(dir);
      await chown(dir, ...(await nobody()));
      argv.unshift('runuser', '-u', 'nobody', '--');
    }
    const { stdout } = await promisify(execFile)(argv[0]!, argv.slice(1), { cwd: '/' });
    const r = JSON.parse(stdout) as { put: boolean; backendError?: boolean; message?: string };
    assert.equal(r.put, false, 'a put into a read-only directory fails');
    assert.ok(r.backendError, `a BackendError: ${r.message}`);
    assert.match(r.message ?? '', /^local store \S+: put locked\/b: EACCES/);
  });

  it('lists nothing in a store directory that does not exist yet', async () => {
    const fresh = new LocalBackend(path.join(tmp.path, 'not-yet'));
    assert.deepEqual(await listKeys(fresh, ''), []);
    assert.equal(await fresh.stat('config'), null);
  });

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`removes the temp file of a put cut short by ${signal}, and ends by that signal`, async () => {
      const dir = path.join(tmp.path, `signal-${signal}`);
      // A put whose body never ends: the temp file stays open until the signal comes.
      const script = [
        `const { LocalBackend } = require(${JSON.stringify(require.resolve('../../src/store/local'))});`,
        `async function* body() { process.stdout.write('writing\\n'); yield Buffer.alloc(1 << 20, 7); await new Promise(() => setInterval(() => {}, 1000)); }`,
        `new LocalBackend(${JSON.stringify(dir)}).put('bricks/ab/abcd', body()).catch((e) => { console.error(e); process.exit(9); });`,
      ].join('\n');
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<NodeJS.Signals | null>((r) => child.on('close', (_code, sig) => r(sig)));
      await new Promise<void>((r) => child.stdout.once('data', () => r()));
      const brickDir = path.join(dir, 'bricks', 'ab');
      assert.equal((await readdir(brickDir)).filter((n) => n.startsWith('.tmp-')).length, 1, 'the put is under way');
      child.kill(signal);
      assert.equal(await exited, signal);
      assert.deepEqual(await readdir(brickDir), [], 'neither a temp file nor the object is left');
    });
  }
});
