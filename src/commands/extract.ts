/** `dtar extract INDEX [PATH...] -C DIR`: selected members (all when none) into a directory. */
import { realpath } from 'node:fs/promises';
import type { Command } from 'commander';
import { DamageFoundError, ExtractIncompleteError, jsonText } from '../errors';
import { extractArchive, ExtractResult } from '../extract/extract';
import { makeDirs } from '../fs/make-dirs';
import { Io, StoreFlags } from './context';
import { formatBytes } from './format';
import { INDEX_ARGUMENT, openIndex } from './index-file';
import { addStoreOptions } from './options';
import { notInArchive, Selection } from '../selection/selection';
import { refuseArchived } from '../thaw/refusal';
import { prunedArchive } from '../retention/pruned';

interface ExtractFlags extends StoreFlags {
  directory: string;
  quiet?: boolean;
  json?: boolean;
  /** --same-owner / --no-same-owner; unset: GNU tar's default for the user. */
  sameOwner?: boolean;
  /** --same-permissions / --no-same-permissions; likewise. */
  samePermissions?: boolean;
}

/** Who extracts: root may create devices, and by default (as with GNU tar) gets owners and modes as archived. */
export interface Extractor {
  root: boolean;
  umask: number;
}

export async function extractCommand(io: Io, index: string, paths: string[], flags: ExtractFlags, who: Extractor): Promise<ExtractResult> {
  const { repo, items, source, input } = await openIndex(io, index, flags);
  const makeDir = async (): Promise<string> => {
    await makeDirs(flags.directory);
    return realpath(flags.directory);
  };
  const selection = new Selection(paths);
  const progress = flags.quiet ? null : io.progress('extract');
  let result: ExtractResult;
  try {
    const extract = (): Promise<ExtractResult> =>
      extractArchive(repo, input, makeDir, {
        selection,
        asRoot: who.root,
        preserve: { owner: flags.sameOwner ?? who.root, permissions: flags.samePermissions ?? who.root, umask: who.umask },
        warn: (m) => {
          progress?.done();
          io.stderr.write(`dtar: ${m}\n`);
        },
        onProgress: (done, total) => progress?.update(done, total),
      });
    result = await refuseArchived(repo, { index, paths, store: flags }, items, extract);
  } finally {
    progress?.done();
  }
  const missing = selection.unmatched();
  if (result.damaged > 0) throw (await prunedArchive(repo, source)) ?? new DamageFoundError(`${result.damaged} files were damaged in the store and not extracted (see above); run 'dtar verify --read-data' for a full report`);
  if (result.refused + result.failed > 0) throw new ExtractIncompleteError(result.refused, result.failed);
  if (missing.length > 0) throw notInArchive(missing);
  return result;
}

export function register(program: Command, io: Io): void {
  addStoreOptions(
    program
      .command('extract')
      .argument('<INDEX>', INDEX_ARGUMENT)
      .argument('[PATH...]', 'only these members (a directory extracts everything below it); default: all')
      .description('extract files from a backup into a directory, fetching only their chunks')
      .option('-C, --directory <DIR>', 'extract into DIR (created if missing)', '.')
      .option('--same-owner', 'give files their archived numeric owner and group (default as root)')
      .option('--no-same-owner', 'files belong to the user extracting (default for other users)')
      .option('-p, --same-permissions', 'modes exactly as archived, setuid, setgid and sticky bits included (default as root)')
      .option('--no-same-permissions', "only the archived read/write/execute bits, less the umask's (default for other users)")
      .addHelpText(
        'after',
        `
Restores contents (sparse files with holes), modification times, symbolic and hard links and
FIFOs; as root also device nodes. Owners and modes as GNU tar does: as root, by default,
numeric owners and modes exactly as archived (setuid bits included), as 'tar -xp' does;
for other users, files are theirs and modes lose setuid, setgid, sticky and the umask's bits.
--no-same-owner and --no-same-permissions give root the other users' behaviour (use both
to extract an untrusted backup as root). Extended attributes are not restored. Existing
files are replaced.

Safety: a leading '/' is removed from member names (as GNU tar does); a member with a '..'
component, a hard link pointing outside DIR, and anything that would be written through a
symbolic link below DIR (one the archive created or one already there) is refused with a
message, and the other members are still extracted (exit code 2).

Examples:
  dtar extract home.index.tar -C /tmp/restore
  dtar extract home.index.tar home/alice/Documents home/alice/.ssh -C /tmp/restore
  dtar extract --no-same-owner --no-same-permissions untrusted.index.tar -C /tmp/look`,
      ),
  ).action(async (index: string, paths: string[], flags: ExtractFlags) => {
    const r = await extractCommand(io, index, paths, flags, { root: process.getuid?.() === 0, umask: process.umask() });
    if (flags.json) io.stdout.write(jsonText({ entries: r.entries, bytes: r.bytes }) + '\n');
    else if (!flags.quiet) io.stderr.write(`extracted ${r.entries} entries, ${formatBytes(r.bytes)}\n`);
  });
}
