/**
 * The kernel enforces the archive's modes and owners on a mount (default_permissions): with
 * --allow-other another user reads what the modes allow and nothing else; without it, other
 * users cannot enter the mount at all. Run as root (CI is), with `nobody` as the other user.
 */
import assert from 'node:assert/strict';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildFixture, Fixture, RunningMount, sh, startMount } from './fixture';

/** Runs `cat PATH` as nobody: its output, or the error it printed. */
async function catAsNobody(path: string): Promise<{ ok: boolean; text: string }> {
  try {
    const { stdout } = await sh('runuser', ['-u', 'nobody', '--', 'cat', path]);
    return { ok: true, text: stdout };
  } catch (e) {
    return { ok: false, text: String((e as { stderr?: string }).stderr) };
  }
}

const asRoot = process.getuid?.() === 0;

describe('permissions on a mount', { skip: asRoot ? false : 'needs root to run commands as another user' }, () => {
  let f: Fixture;
  const mounts: RunningMount[] = [];

  before(async () => {
    f = await buildFixture();
    // nobody must be able to reach the mount points; the store stays as it is.
    await chmod(f.dir, 0o711);
  });

  after(async () => {
    for (const m of mounts) await m.stop();
    await f?.cleanup();
  });

  test('with --allow-other, another user reads what the modes allow and nothing else', async () => {
    const m = await startMount(f, join(f.dir, 'mnt-other'), ['--allow-other']);
    mounts.push(m);
    const readable = await catAsNobody(join(m.dir, 'dir/sub/deep.txt'));
    assert.ok(readable.ok, readable.text);
    assert.equal(readable.text, 'deep\n'.repeat(1000));
    // 0600, owned by uid 1234.
    const secret = await catAsNobody(join(m.dir, 'secret'));
    assert.equal(secret.ok, false);
    assert.match(secret.text, /Permission denied/);
    // 0644, in a 0700 directory owned by root.
    const inside = await catAsNobody(join(m.dir, 'private/inside.txt'));
    assert.equal(inside.ok, false);
    assert.match(inside.text, /Permission denied/);
    // Root still reads everything, as on any filesystem.
    const { stdout } = await sh('cat', [join(m.dir, 'secret')]);
    assert.equal(stdout, 'private\n');
  });

  test('without --allow-other, another user cannot enter the mount', async () => {
    const m = await startMount(f, join(f.dir, 'mnt-own'));
    mounts.push(m);
    const r = await catAsNobody(join(m.dir, 'dir/sub/deep.txt'));
    assert.equal(r.ok, false);
    assert.match(r.text, /Permission denied/);
  });

  test('setuid bits and device nodes have no power on the mount (nosuid, nodev)', async () => {
    const m = mounts[0]!;
    const { stdout } = await sh('findmnt', ['-n', '-o', 'OPTIONS', m.dir]);
    const options = stdout.trim().split(',');
    for (const o of ['ro', 'nosuid', 'nodev', 'default_permissions']) assert.ok(options.includes(o), `${o} in ${stdout}`);
  });
});
