/**
 * dtar on a terminal (a real pseudo-terminal, from util-linux `script`): a tar is never
 * written to one, nor an index, and ingest does not sit waiting for a tar to be typed in.
 * Each refusal comes before any store is opened or passphrase asked for: one line, exit 2.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DTAR_ARGV } from '../support/dtar';
import { makeTempDir, type TempDir } from '../support/tmp';

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs dtar with stdin, stdout and stderr on a new terminal; what the terminal showed, and the exit code. */
function onTerminal(args: string[], cwd: string): Promise<{ code: number; shown: string }> {
  const command = [process.execPath, ...DTAR_ARGV, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    // No passphrase and no store in the environment: a refusal must not need them.
    const env = { PATH: process.env.PATH, HOME: cwd };
    // A dtar that waits on the terminal is killed, and fails the test, rather than hanging it.
    const child = execFile('script', ['-qec', command, '/dev/null'], { cwd, env, timeout: 20_000 }, (err, stdout) => {
      if (err && typeof err.code !== 'number') return reject(new Error(`dtar ${args.join(' ')} did not end on its own (${err.message}); the terminal showed: ${stdout}`));
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, shown: stdout.replace(/\r/g, '') });
    });
    child.stdin?.end();
  });
}

describe('on a terminal', () => {
  let tmp: TempDir;
  before(async () => {
    tmp = await makeTempDir('terminal');
  });
  after(() => tmp.cleanup());

  test('restore refuses to write a tar to it', async () => {
    const r = await onTerminal(['restore', 'home.index.tar'], tmp.path);
    assert.equal(r.code, 2);
    assert.equal(r.shown, 'dtar: refusing to write a tar to a terminal: give -o FILE or redirect stdout\n');
  });

  test('ingest refuses to write the index to it', async () => {
    const r = await onTerminal(['ingest', 'home.tar'], tmp.path);
    assert.equal(r.code, 2);
    assert.equal(r.shown, 'dtar: refusing to write the index to a terminal: give -o INDEX or redirect stdout\n');
  });

  test('ingest with no file does not wait for a tar typed in', async () => {
    const r = await onTerminal(['ingest', '-o', 'home.index.tar'], tmp.path);
    assert.equal(r.code, 2);
    assert.match(r.shown, /^dtar: no tar on standard input \(it is a terminal\): pipe one in, as in tar c DIR \| dtar ingest, or name a tar file\n$/);
    await assert.rejects(access(join(tmp.path, 'home.index.tar')), 'no index is written');
  });
});
