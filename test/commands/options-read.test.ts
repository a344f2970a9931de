/**
 * A command offers only the options it implements: every command of the real program is run
 * in-process, to the end, on a real store, with its option values behind a Proxy that records
 * which of them the command reads. An option declared and never read fails the test, and so
 * does a command with options that no run below covers (add a run for it). The program's own
 * --debug and --version are not a command's: main reads --debug from argv.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { mkdir } from 'node:fs/promises';
import { Command } from 'commander';
import { buildProgram, run } from '../../src/cli/main';
import { silentProgress } from '../../src/cli/progress';
import type { Io } from '../../src/commands/context';
import { dtar as runDtar } from '../support/dtar';
import { Fixture, makeFixture } from './harness';

const dtar = (env: NodeJS.ProcessEnv, ...argv: string[]) => runDtar(argv, { env, inProcess: true });

/** "archives get" for the program's `archives` command's `get`. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Option values (attribute names) read, by command path. */
const reads = new Map<string, Set<string>>();
const originalOpts = Command.prototype.opts;

function recordReads(): void {
  Command.prototype.opts = function (this: Command) {
    const path = commandPath(this);
    const seen = reads.get(path) ?? new Set<string>();
    reads.set(path, seen);
    return new Proxy(originalOpts.call(this), {
      get(target, key, receiver) {
        if (typeof key === 'string') seen.add(key);
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
  } as typeof Command.prototype.opts;
}

/** An Io that drops stdout and hands each stderr write to `onStderr`. */
function io(env: NodeJS.ProcessEnv, onStderr: (text: string) => void = () => undefined): Io {
  return {
    stdin: Readable.from([]),
    stdout: new Writable({ write: (_c, _e, cb) => cb() }),
    stderr: new Writable({
      write(chunk: Buffer, _enc, cb) {
        onStderr(chunk.toString());
        cb();
      },
    }),
    env,
    stdinIsTTY: false,
    stdoutIsTTY: false,
    askHidden: () => Promise.reject(new Error('no terminal in tests')),
    progress: () => silentProgress,
  };
}

/** Runs `dtar mount ARGS MOUNTPOINT` in this process and unmounts it with `dtar umount` once it says it is mounted. */
async function mountOnce(env: NodeJS.ProcessEnv, args: string[], mountpoint: string): Promise<void> {
  let mounted: () => void;
  const up = new Promise<void>((resolve) => (mounted = resolve));
  let stderr = '';
  const running = run(['mount', ...args, mountpoint], io(env, (text) => {
    stderr += text;
    if (stderr.includes('mounted ')) mounted();
  }));
  await Promise.race([up, running]);
  const down = await dtar(env, 'umount', mountpoint);
  assert.equal(down.code, 0, down.stderr);
  assert.equal(await running, 0, stderr);
}

let f: Fixture;

before(async () => {
  f = await makeFixture();
  recordReads();
});

after(async () => {
  Command.prototype.opts = originalOpts;
  await f.cleanup();
});

test('every option a command declares is read by it', async () => {
  const at = (name: string): string => join(f.dir, name);
  const newStore = at('new-store');
  const runs: string[][] = [
    ['init', '--store', newStore, '--brick-size', '1M'],
    ['ingest', f.tar, '-o', at('b.index.tar'), '--name', 'b', '--level', '1'],
    ['restore', f.index, '-o', at('a.tar')],
    ['ls', '-l', f.index],
    ['cat', f.index, 'dir/hello.txt'],
    ['extract', f.index, '-C', at('out')],
    ['verify', '--read-data', f.index],
    ['repair', '--dry-run'],
    ['archives'],
    ['archives', '--store', newStore],
    ['archives', 'get', 'small', '-o', at('got.index.tar')],
    ['stats', f.index],
    ['key', 'export-writer', '-o', at('writer.key')],
    ['key', 'revoke-writer', at('writer.key')],
    ['thaw', f.index],
    ['forget', '--name', 'b', '--keep-last', '1', '--keep-hourly', '1', '--keep-daily', '1', '--keep-weekly', '1', '--keep-monthly', '1', '--keep-yearly', '1', '--keep-within', '1d', '--dry-run', '--json'],
    ['forget', '--name', 'b', '--keep-last', '1'],
    ['prune', '--dry-run', '--json', '--early-delete', '--repack'],
    ['prune'],
    ['unlock', '--remove-all', '-q'],
    ['unlock', '--json'],
  ];
  for (const argv of runs) {
    const r = await dtar(f.env, ...argv);
    assert.equal(r.code, 0, `dtar ${argv.join(' ')}: ${r.stderr}`);
  }
  const passwd = await dtar({ ...f.env, DTAR_NEW_PASSWORD: 'another one' }, 'key', 'passwd', '--store', newStore);
  assert.equal(passwd.code, 0, passwd.stderr);
  await mkdir(at('mnt'));
  await mountOnce(f.env, [f.index], at('mnt'));
  await mountOnce(f.env, [], at('mnt'));

  const unread: string[] = [];
  const walk = (cmd: Command): void => {
    for (const sub of cmd.commands) {
      const declared = new Set(sub.options.map((o) => o.attributeName()));
      const seen = reads.get(commandPath(sub));
      if (declared.size > 0 && !seen) unread.push(`${commandPath(sub)}: no run above covers it`);
      for (const name of declared) if (seen && !seen.has(name)) unread.push(`${commandPath(sub)}: ${sub.options.find((o) => o.attributeName() === name)!.long}`);
      walk(sub);
    }
  };
  walk(buildProgram(io(f.env)));
  assert.deepEqual(unread, [], 'declared and never read');
});
