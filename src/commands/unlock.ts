/**
 * `dtar unlock [--remove-all]`: remove the store locks of dtars that are no longer running
 * (src/repo/lock.ts), or every lock, with a warning for each that still looks alive.
 */
import type { Command } from 'commander';
import { escapeName, jsonText } from '../errors';
import { describeLock, removeLocks } from '../repo/lock';
import { backendFor, Io, StoreFlags } from './context';
import { addStoreOptions } from './options';

interface UnlockFlags extends StoreFlags {
  removeAll?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export async function unlockCommand(io: Io, flags: UnlockFlags): Promise<void> {
  // No passphrase: locks are plain objects, and a writer without one must be able to clear its own.
  const removed = await removeLocks(backendFor(io, flags), flags.removeAll ? 'all' : 'stale');
  if (flags.json) {
    io.stdout.write(jsonText(removed.map((l) => ({ key: l.key, stale: l.stale, note: l.note, ...(l.info ?? {}) }))) + '\n');
    return;
  }
  for (const l of removed) {
    if (!l.stale) io.stderr.write(`dtar: warning: removed ${escapeName(describeLock(l))}, which does not look stale: if that dtar is still running, a prune may now delete what it is storing\n`);
    else if (!flags.quiet) io.stderr.write(`removed ${escapeName(describeLock(l))}\n`);
  }
  if (!flags.quiet) io.stderr.write(`${removed.length} lock${removed.length === 1 ? '' : 's'} removed\n`);
}

export function register(program: Command, io: Io): void {
  addStoreOptions(
    program
      .command('unlock')
      .description('remove the store locks left by dtars that are no longer running')
      .option('--remove-all', 'remove every lock, also those that look alive (warns for each)')
      .addHelpText(
        'after',
        `
An ingest holds a shared lock and prune an exclusive one. A lock not refreshed for 30
minutes, or whose process is gone from this host, is stale: other dtars ignore it, and
unlock removes it. Remove a live one (--remove-all) only when you know its dtar has stopped.

Examples:
  dtar unlock
  dtar unlock --remove-all`,
      ),
    { cacheDir: false },
  ).action(async (flags: UnlockFlags) => {
    await unlockCommand(io, flags);
  });
}
