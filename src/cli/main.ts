/**
 * The dtar command line: builds the commands, runs one, and turns any failure into one
 * line on stderr (a stack trace only with --debug) and an exit code: a DtarError's own
 * (src/errors), 2 for a bad command line or a failed system call, 5 for anything else (a bug).
 * The table users script on is docs/COMMANDS.md, "Exit codes".
 * Only this file touches process-wide state.
 */
import { Command, CommanderError } from 'commander';
import { BadIndexError, DtarError, escapeName, NotAuthenticIndexError, systemErrorReason } from '../errors';
import type { Io } from '../commands/context';
import { silentProgress, terminalProgress } from './progress';
import { askHidden } from './terminal';

export const VERSION = '0.1.0';

/**
 * Each command's module, loaded only when that command runs (or when all are needed, for the
 * program's help): together they take a noticeable part of a start-up, bench/README.md.
 */
const COMMANDS: Record<string, () => { register(program: Command, io: Io): void }> = {
  init: () => require('../commands/init') as typeof import('../commands/init'),
  ingest: () => require('../commands/ingest') as typeof import('../commands/ingest'),
  restore: () => require('../commands/restore') as typeof import('../commands/restore'),
  ls: () => require('../commands/ls') as typeof import('../commands/ls'),
  cat: () => require('../commands/cat') as typeof import('../commands/cat'),
  extract: () => require('../commands/extract') as typeof import('../commands/extract'),
  verify: () => require('../commands/verify') as typeof import('../commands/verify'),
  repair: () => require('../commands/repair') as typeof import('../commands/repair'),
  archives: () => require('../commands/archives') as typeof import('../commands/archives'),
  stats: () => require('../commands/stats') as typeof import('../commands/stats'),
  key: () => require('../commands/key') as typeof import('../commands/key'),
  thaw: () => require('../commands/thaw') as typeof import('../commands/thaw'),
  mount: () => require('../commands/mount') as typeof import('../commands/mount'),
  forget: () => require('../commands/forget') as typeof import('../commands/forget'),
  unlock: () => require('../commands/unlock') as typeof import('../commands/unlock'),
  prune: () => require('../commands/prune') as typeof import('../commands/prune'),
};

/** Commands registered by the module of another: `umount` is the mount module's. */
const MODULE_OF: Record<string, string> = { umount: 'mount' };

/** The command an argv runs: its first word that is not an option (the program's own options take no value). */
function commandWord(argv: readonly string[]): string | undefined {
  return argv.find((a) => !a.startsWith('-'));
}

/**
 * The program with every command, or with `only` alone when it names one: what runs a
 * command needs nothing of the others (help, `help CMD` and a mistyped name get all).
 */
export function buildProgram(io: Io, only?: string): Command {
  const program = new Command('dtar')
    .version(VERSION)
    .description('Deduplicated, encrypted, cold-storage backups of tar streams: restorable byte for byte, mountable, listable.')
    .option('--debug', 'show stack traces on errors')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .addHelpText(
      'after',
      '\nExamples:\n  dtar init\n  tar c /home | dtar ingest -o home.index.tar\n  dtar restore home.index.tar | tar x\n\nEnvironment: DTAR_STORE, DTAR_PASSWORD_FILE, DTAR_PASSWORD, AWS_* for S3.',
    );
  const module = only === undefined ? undefined : (MODULE_OF[only] ?? only);
  const names = module !== undefined && Object.hasOwn(COMMANDS, module) ? [module] : Object.keys(COMMANDS);
  for (const name of names) COMMANDS[name]!().register(program, io);
  for (const c of program.commands) c.exitOverride();
  return program;
}

/** Runs one command line (argv without node and script); resolves to the exit code. */
export async function run(argv: string[], io: Io): Promise<number> {
  const resources: { close(): Promise<void> }[] = [];
  const program = buildProgram({ ...io, closeAfter: (r) => resources.push(r) }, commandWord(argv));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    return report(e, io, argv.includes('--debug'), commandWord(argv));
  } finally {
    await Promise.all(resources.map((r) => r.close().catch(() => undefined)));
  }
}

/** Where to turn when a local index is damaged or was rewritten: ingest kept a sealed copy of it in the store. */
const INDEX_COPY_HINT = "; the store keeps a copy of every index: find it with 'dtar archives', bring it back with 'dtar archives get ID -o FILE'";

/** The one-line message and exit code for what a command threw. */
function report(e: unknown, io: Io, debug: boolean, command: string | undefined): number {
  if (e instanceof CommanderError) {
    return e.exitCode === 0 ? 0 : 2;
  }
  if (e instanceof DtarError) {
    const hint = (e instanceof BadIndexError || e instanceof NotAuthenticIndexError) && command !== 'archives' ? INDEX_COPY_HINT : '';
    io.stderr.write(`dtar: ${e.message}${hint}\n`);
    if (debug && e.stack) io.stderr.write(e.stack + '\n');
    return e.exitCode;
  }
  const err = e as NodeJS.ErrnoException;
  if (err && (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED')) return 0;
  const reason = systemErrorReason(e);
  if (reason !== null) {
    io.stderr.write(`dtar: ${err.path ? `cannot ${err.syscall} ${escapeName(err.path)}: ${reason}` : err.message}\n`);
    if (debug && err.stack) io.stderr.write(err.stack + '\n');
    return 2;
  }
  io.stderr.write(`dtar: internal error: ${err instanceof Error ? err.message : String(e)} (run with --debug for details)\n`);
  if (debug && err instanceof Error && err.stack) io.stderr.write(err.stack + '\n');
  return 5;
}

export function processIo(): Io {
  const quietEnv = process.env.DTAR_QUIET === '1';
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    stdinIsTTY: Boolean(process.stdin.isTTY),
    stdoutIsTTY: Boolean(process.stdout.isTTY),
    askHidden: (prompt) => askHidden(process.stdin, process.stderr, prompt),
    progress: (label) => (process.stderr.isTTY && !quietEnv ? terminalProgress(process.stderr, label) : silentProgress),
  };
}

export function main(): void {
  // The AWS SDK warns on stderr, on every S3 command, that its 2027 releases will need
  // Node 22; dtar pins the SDK and supports Node 20, and the warning would break one-line errors.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  let settled = false;
  // Node exits with status 0 when nothing is left to wait on, even if the command never
  // finished (a promise no one will settle). A backup tool must not report success then.
  process.on('beforeExit', () => {
    if (settled) return;
    settled = true;
    process.stderr.write('dtar: internal error: stopped before the command finished; its result is incomplete (run with --debug and report it)\n');
    process.exitCode = 5;
  });
  run(process.argv.slice(2), processIo()).then(
    (code) => {
      settled = true;
      process.exitCode = code;
    },
    (e: unknown) => {
      settled = true;
      process.stderr.write(`dtar: internal error: ${String(e)}\n`);
      process.exitCode = 5;
    },
  );
}
