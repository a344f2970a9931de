/**
 * Secrets stay secret. Key files (and every store object and directory) are private: 0600
 * files, 0700 directories, also after `dtar key passwd`. The passphrase is never in a
 * running dtar's argv (/proc/<pid>/cmdline; it has no flag for it), never in what dtar
 * prints (a wrong passphrase, --debug, a normal run), and never in the index tar, the store
 * objects or the local cache (their raw bytes are searched, as text and as base64).
 */
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dtar, ok, testStore, type TestStore } from '../support/dtar';
import { walk } from './support';
import { randomTar } from '../support/random';
import { spawnDtar } from '../support/dtar';

const PASSPHRASE = 'Zebra-Quartz-7731-unmistakable';
const NEW_PASSPHRASE = 'Otter-Basalt-9902-unmistakable';

/** The forms a leaked passphrase could take in bytes. */
function needles(p: string): Buffer[] {
  return [Buffer.from(p), Buffer.from(p, 'utf16le'), Buffer.from(Buffer.from(p).toString('base64').slice(0, 24)), Buffer.from(Buffer.from(p).toString('hex'))];
}

function assertAbsent(haystack: Buffer | string, what: string): void {
  const b = typeof haystack === 'string' ? Buffer.from(haystack) : haystack;
  for (const p of [PASSPHRASE, NEW_PASSPHRASE]) for (const n of needles(p)) assert.equal(b.indexOf(n), -1, `${what} holds the passphrase (${n.toString().slice(0, 12)}...)`);
}

describe('secrets', () => {
  let s: TestStore;
  let tar: string;
  let index: string;
  const outputs: string[] = [];

  before(async () => {
    s = await testStore();
    // The passphrase from a file, the way the docs recommend.
    const passFile = join(s.dir, 'pass');
    await writeFile(passFile, PASSPHRASE + '\n', { mode: 0o600 });
    delete s.env.DTAR_PASSWORD;
    s.env.DTAR_PASSWORD_FILE = passFile;
    tar = await randomTar(s.dir, { d: [3000, 400_000] });
    index = join(s.dir, 'secret.idx');
    for (const args of [['init', '--brick-size', '1M'], ['ingest', tar, '-o', index], ['restore', index, '-o', join(s.dir, 'back.tar')], ['verify', '--read-data'], ['ls', '-l', index], ['archives']]) {
      const r = ok(await dtar(args, { env: s.env }), args[0]!);
      outputs.push(r.stdout.toString('latin1') + r.stderr);
    }
  });
  after(() => s.cleanup());

  test('store files are 0600 and directories 0700; key files too, after key passwd', async () => {
    const newPass = join(s.dir, 'newpass');
    await writeFile(newPass, NEW_PASSPHRASE, { mode: 0o600 });
    const r = ok(await dtar(['key', 'passwd'], { env: { ...s.env, DTAR_NEW_PASSWORD_FILE: newPass } }), 'key passwd');
    outputs.push(r.stdout.toString() + r.stderr);
    s.env.DTAR_PASSWORD_FILE = newPass;
    const files = await walk(s.store);
    assert.ok(files.some((f) => f.startsWith('keys/')));
    for (const f of files) assert.equal((await stat(join(s.store, f))).mode & 0o777, 0o600, `${f} is 0600`);
    const dirs = new Set(files.map((f) => f.split('/').slice(0, -1).join('/')).filter((d) => d !== ''));
    for (const d of ['', ...dirs]) assert.equal((await stat(join(s.store, d))).mode & 0o777, 0o700, `${d || 'the store'} is 0700`);
    assert.equal((await stat(index)).mode & 0o077, 0, 'the index tar is private too');
  });

  test('a wrong passphrase: the message, even with --debug, does not echo it', async () => {
    for (const args of [['restore', index], ['restore', index, '--debug'], ['ingest', tar, '--debug']]) {
      const r = await dtar(args, { env: { ...s.env, DTAR_PASSWORD_FILE: undefined, DTAR_PASSWORD: PASSPHRASE } });
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /wrong passphrase/);
      assertAbsent(r.stderr + r.stdout.toString('latin1'), `stderr of ${args.join(' ')}`);
    }
  });

  test('nothing dtar printed holds the passphrase', () => {
    assert.ok(outputs.length >= 7);
    for (const o of outputs) assertAbsent(o, 'output');
  });

  test('the passphrase is not in the argv of a running dtar', async () => {
    const big = await randomTar(s.dir, { big: [6_000_000] }, 'big.tar');
    const run = spawnDtar(['ingest', big, '-o', join(s.dir, 'big.idx')], { env: s.env });
    // Read the command line while it runs (as any local user could).
    const cmdline = await readFile(`/proc/${run.child.pid}/cmdline`);
    assert.ok(cmdline.includes(Buffer.from('ingest')), 'read the live process');
    assertAbsent(cmdline, '/proc/<pid>/cmdline');
    assert.equal((await run.done).code, 0);
    const help = ok(await dtar(['ingest', '--help'], { env: s.env }), 'help').stdout.toString();
    assert.doesNotMatch(help, /--pass/, 'no flag takes a passphrase');
  });

  test('the passphrase is in no byte of the index, the store or the cache', async () => {
    assertAbsent(await readFile(index), 'the index tar');
    for (const root of [s.store, join(s.dir, 'cache')]) {
      for (const f of await walk(root)) assertAbsent(await readFile(join(root, f)), f);
    }
  });
});
