/**
 * Owners and modes on extraction, as GNU tar applies them: as root, by default, the archived
 * numeric owners and modes exactly (setuid, setgid and sticky bits included), as `tar -xp`
 * does; --no-same-owner leaves files to the user extracting, --no-same-permissions keeps only
 * the rwx bits less the umask's. A crafted archive of a setuid file owned by another uid, a
 * setgid and a sticky directory, a symlink and a FIFO, extracted by the real CLI as root.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstat, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodeHeader, paddingFor } from '../../src/tar/header';
import { promisify } from 'node:util';
import { DTAR_ARGV, dtar, ok, testStore, type TestStore } from '../support/dtar';

const UID = 1234;
const GID = 5678;
const asRoot = process.getuid?.() === 0;
const umask = process.umask();

function entry(name: string, typeflag: string, mode: number, body = ''): Buffer {
  const data = Buffer.from(body);
  const header = encodeHeader({ name, typeflag, mode, uid: UID, gid: GID, size: data.length, mtime: 1e9, ...(typeflag === '2' ? { linkname: 'suid' } : {}) });
  return Buffer.concat([header, data, Buffer.alloc(paddingFor(data.length))]);
}

/** name -> archived mode (type bits apart). */
const MODES: Record<string, number> = { suid: 0o4755, open: 0o777, 'sgid-dir': 0o2775, 'sticky-dir': 0o1777, fifo: 0o640 };

let s: TestStore;
let index: string;

before(async () => {
  s = await testStore();
  const tar = join(s.dir, 'owners.tar');
  await writeFile(
    tar,
    Buffer.concat([
      entry('suid', '0', MODES.suid!, '#!/bin/sh\necho hi\n'),
      entry('open', '0', MODES.open!, 'x'),
      entry('sgid-dir/', '5', MODES['sgid-dir']!),
      entry('sticky-dir/', '5', MODES['sticky-dir']!),
      entry('fifo', '6', MODES.fifo!),
      entry('link', '2', 0o777),
      Buffer.alloc(1024),
    ]),
  );
  index = join(s.dir, 'owners.idx');
  ok(await dtar(['init', '--quiet'], { env: s.env }), 'init');
  ok(await dtar(['ingest', tar, '-o', index, '--quiet'], { env: s.env }), 'ingest');
});
after(() => s.cleanup());

/** Extracts with `flags` (as `user` when given); returns each member's owner and mode (without type bits). */
async function extract(flags: string[], user?: number): Promise<Map<string, { uid: number; gid: number; mode: number }>> {
  const target = await mkdtemp(join(s.dir, 'x-'));
  const args = ['extract', index, '-C', target, '--quiet', ...flags];
  if (user === undefined) ok(await dtar(args, { env: s.env }), `extract ${flags.join(' ')}`);
  else {
    await promisify(execFile)('chown', ['-R', `${user}:${user}`, s.dir]);
    await promisify(execFile)('setpriv', ['--reuid', String(user), '--regid', String(user), '--clear-groups', process.execPath, ...DTAR_ARGV, ...args], { env: s.env });
  }
  const out = new Map<string, { uid: number; gid: number; mode: number }>();
  for (const name of [...Object.keys(MODES), 'link']) {
    const st = await lstat(join(target, name));
    out.set(name, { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 });
  }
  return out;
}

const skip = asRoot ? false : 'extracting owners needs root';

test('as root, by default: archived owners and modes, setuid included', { skip }, async () => {
  const got = await extract([]);
  for (const [name, mode] of Object.entries(MODES)) assert.deepEqual(got.get(name), { uid: UID, gid: GID, mode }, name);
  assert.equal(got.get('link')!.uid, UID, 'the symlink itself');
  assert.deepEqual(await extract(['--same-owner', '--same-permissions']), got, 'the explicit flags are the defaults');
});

test('--no-same-owner: the files are root\'s, modes still as archived', { skip }, async () => {
  const got = await extract(['--no-same-owner']);
  for (const [name, mode] of Object.entries(MODES)) assert.deepEqual(got.get(name), { uid: 0, gid: 0, mode }, name);
  assert.equal(got.get('link')!.uid, 0);
});

test('--no-same-permissions: the umask applies, setuid, setgid and sticky bits are dropped', { skip }, async () => {
  const got = await extract(['--no-same-permissions']);
  for (const [name, mode] of Object.entries(MODES)) assert.deepEqual(got.get(name), { uid: UID, gid: GID, mode: mode & 0o777 & ~umask }, name);
});

test('both: what an untrusted backup should be extracted with', { skip }, async () => {
  const got = await extract(['--no-same-owner', '--no-same-permissions']);
  for (const [name, mode] of Object.entries(MODES)) assert.deepEqual(got.get(name), { uid: 0, gid: 0, mode: mode & 0o777 & ~umask }, name);
  assert.equal(got.get('suid')!.mode & 0o4000, 0, 'no setuid-root file');
});

test('as another user, by default: the files are theirs, the umask applies, no setuid', { skip }, async () => {
  const user = 4321;
  const got = await extract([], user);
  for (const [name, mode] of Object.entries(MODES)) assert.deepEqual(got.get(name), { uid: user, gid: user, mode: mode & 0o777 & ~umask }, name);
});
