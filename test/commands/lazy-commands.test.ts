/**
 * The CLI loads only the module of the command it runs (src/cli/main.ts), yet every command
 * is the same with or without the others, and the program's help still lists them all.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main';
import { silentProgress } from '../../src/cli/progress';
import type { Io } from '../../src/commands/context';

const io: Io = {
  stdin: Readable.from([]),
  stdout: new Writable({ write: (_c, _e, cb) => cb() }),
  stderr: new Writable({ write: (_c, _e, cb) => cb() }),
  env: {},
  stdinIsTTY: false,
  stdoutIsTTY: false,
  askHidden: () => Promise.reject(new Error('no terminal')),
  progress: () => silentProgress,
};

/** A command's help and its subcommands', which name every option and argument. */
function helps(cmd: Command): string {
  return [cmd.helpInformation(), ...cmd.commands.map(helps)].join('\n');
}

test('a program built for one command has that command as the whole program has it', () => {
  const all = buildProgram(io);
  assert.ok(all.commands.length >= 17, all.commands.map((c) => c.name()).join(' '));
  for (const cmd of all.commands) {
    const program = buildProgram(io, cmd.name());
    const alone = program.commands.find((c) => c.name() === cmd.name());
    assert.ok(alone, `${cmd.name()} is registered when it runs`);
    // Its module's commands only (mount's module has umount too), not all of them.
    assert.ok(program.commands.length <= 2, `${cmd.name()} loads ${program.commands.map((c) => c.name()).join(' ')}`);
    assert.equal(helps(alone), helps(cmd), cmd.name());
  }
  for (const word of [undefined, 'help', 'no-such-command']) assert.deepEqual(buildProgram(io, word).commands.map((c) => c.name()), all.commands.map((c) => c.name()), String(word));
});

test('running a command loads no other command module', () => {
  const main = join(__dirname, '../../src/cli/main.js');
  const script = `require(${JSON.stringify(main)}).run(['unlock', '--help'], { stdout: { write() {} }, stderr: process.stderr, env: {} }).then(() =>
    console.log(Object.keys(require.cache).filter((p) => p.includes('/src/commands/')).map((p) => p.replace(/.*\\/src\\/commands\\//, '')).sort().join(' ')))`;
  const loaded = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim().split(' ');
  assert.ok(loaded.includes('unlock.js'), loaded.join(' '));
  for (const other of ['mount.js', 'ingest.js', 'restore.js', 'thaw.js', 'archives.js']) assert.ok(!loaded.includes(other), `${other} loaded: ${loaded.join(' ')}`);
});
