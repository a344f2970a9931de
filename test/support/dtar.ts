/**
 * The one way tests run dtar: the real CLI as a child process of bin/dtar.js (exit codes,
 * stderr and stdout exactly as a user sees them), or in-process through the same `run` for
 * loops of hundreds of cases; and the one test store, a fresh local store in a temp directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { run } from '../../src/cli/main';
import { silentProgress } from '../../src/cli/progress';

export const DTAR = resolve(__dirname, '../../../bin/dtar.js');
/** The Node options of the entry point's `#!` line, which users get when they run `dtar`. */
export const NODE_FLAGS = readFileSync(DTAR, 'latin1').split('\n')[0]!.split(' ').filter((a) => a.startsWith('--'));
/** Arguments to run dtar with process.execPath as users run it (PATH may be unset in a test's env). */
export const DTAR_ARGV = [...NODE_FLAGS, DTAR];

export interface DtarResult {
  code: number;
  stdout: Buffer;
  stderr: string;
  /** stderr as written, for checks that UTF-8 decoding would hide. */
  stderrBytes: Buffer;
}

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  /** A file to feed on stdin, or bytes. */
  stdin?: string | Buffer;
  cwd?: string;
  /**
   * Runs `run` of src/cli/main in this process, with no terminal: a case costs a key unlock,
   * not a node start (fuzz loops). Not for what a process shows: signals, the `#!` options.
   */
  inProcess?: boolean;
}

export function dtar(args: string[], opts: RunOptions): Promise<DtarResult> {
  return opts.inProcess ? dtarInProcess(args, opts) : spawnDtar(args, opts).done;
}

/** A dtar child that a test can watch and kill; `done` resolves when it has exited. */
export interface Running {
  child: ChildProcess;
  done: Promise<DtarResult & { signal: NodeJS.Signals | null }>;
}

export interface SpawnOptions extends Omit<RunOptions, 'inProcess'> {
  /** Leaves standard input open after `stdin` (if any): the test writes to `child.stdin` itself. */
  keepStdinOpen?: boolean;
}

export function spawnDtar(args: string[], opts: SpawnOptions): Running {
  const child = spawn(process.execPath, [...DTAR_ARGV, ...args], { env: opts.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  child.stdin.on('error', () => undefined); // dtar may stop reading early on bad input
  if (typeof opts.stdin === 'string') createReadStream(opts.stdin).pipe(child.stdin, { end: !opts.keepStdinOpen });
  else if (opts.keepStdinOpen) child.stdin.write(opts.stdin ?? Buffer.alloc(0));
  else child.stdin.end(opts.stdin);
  const done = new Promise<DtarResult & { signal: NodeJS.Signals | null }>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const stderrBytes = Buffer.concat(err);
      resolvePromise({ code: code ?? -1, signal, stdout: Buffer.concat(out), stderr: stderrBytes.toString('utf8'), stderrBytes });
    });
  });
  return { child, done };
}

async function dtarInProcess(args: string[], opts: RunOptions): Promise<DtarResult> {
  if (opts.cwd !== undefined) throw new Error('a working directory needs a child process');
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const sink = (into: Buffer[]): Writable =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        into.push(Buffer.from(chunk));
        cb();
      },
    });
  const stdin = typeof opts.stdin === 'string' ? createReadStream(opts.stdin) : Readable.from(opts.stdin ? [opts.stdin] : []);
  const code = await run(args, {
    stdin,
    stdout: sink(out),
    stderr: sink(err),
    env: opts.env,
    stdinIsTTY: false,
    stdoutIsTTY: false,
    askHidden: () => Promise.reject(new Error('no terminal in tests')),
    progress: () => silentProgress,
  });
  const stderrBytes = Buffer.concat(err);
  return { code, stdout: Buffer.concat(out), stderr: stderrBytes.toString('utf8'), stderrBytes };
}

/**
 * Key files written by tests use scrypt at the cost dtar wrote before key file version 2
 * (still accepted) instead of 4x that: each command opens the store, and a suite runs hundreds.
 */
export const FAST_KDF = { DTAR_TEST_FAST_KDF: '1' } as const;

export interface TestStore {
  dir: string;
  store: string;
  env: NodeJS.ProcessEnv;
  cleanup(): Promise<void>;
}

/** A temp dir with a store location and an environment pointing dtar at it (not yet initialised). */
export async function testStore(passphrase = 'correct horse battery staple'): Promise<TestStore> {
  const dir = await mkdtemp(join(tmpdir(), 'dtar-test-'));
  const store = join(dir, 'store');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    XDG_CACHE_HOME: join(dir, 'cache'),
    XDG_DATA_HOME: join(dir, 'data'),
    DTAR_STORE: store,
    DTAR_PASSWORD: passphrase,
    ...FAST_KDF,
  };
  return { dir, store, env, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Returns r, or throws with the command's stderr when it did not exit 0. */
export function ok(r: DtarResult, what: string): DtarResult {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr}`);
  return r;
}
