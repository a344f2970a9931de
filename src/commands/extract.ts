/** `dtar extract INDEX [PATH...] -C DIR`: selected members (all when none) into a directory. */
import { realpath } from 'node:fs/promises';
import type { Command } from 'commander';
import { DamageFoundError, DtarError, jsonText } from '../errors';
import { extractArchive, ExtractResult } from '../extract/extract';
import { makeDirs } from '../fs/make-dirs';
import { Io, StoreFlags } from './context';
import { formatBytes } from './format';
import { openIndexStore } from './index-file';
import { checkIndexStore } from './index-store';
import { addStoreOptions } from './options';
import { notInArchive, Selection } from '../archive/select';
import { refuseArchivedFor } from './thaw';
import { indexFileBytes } from '../index/file';

interface ExtractFlags extends StoreFlags {
  directory: string;
  quiet?: boolean;
  json?: boolean;
}

/** Some entries were refused or could not be written; each was reported already. */
class ExtractIncompleteError extends DtarError {
  constructor(r: ExtractResult) {
    const parts = [r.refused > 0 ? `${r.refused} refused as unsafe` : '', r.failed > 0 ? `${r.failed} could not be written` : ''].filter(Boolean);
    super(r.refused > 0 ? 'UNSAFE_PATH' : 'USAGE', `${r.refused + r.failed} entries were not extracted (${parts.join(', ')}; see above)`, 2);
  }
}

export async function extractCommand(io: Io, index: string, paths: string[], flags: ExtractFlags, asRoot: boolean): Promise<ExtractResult> {
  const { meta, repo } = await openIndexStore(io, index, flags);
  checkIndexStore(meta, repo);
  await makeDirs(flags.directory);
  const dir = await realpath(flags.directory);
  const selection = new Selection(paths);
  const progress = flags.quiet ? null : io.progress('extract');
  let result: ExtractResult;
  try {
    result = await extractArchive(repo, () => indexFileBytes(index), dir, {
      indexName: index,
      selection,
      asRoot,
      warn: (m) => {
        progress?.done();
        io.stderr.write(`dtar: ${m}\n`);
      },
      onProgress: (done, total) => progress?.update(done, total),
    });
  } finally {
    progress?.done();
  }
  const missing = selection.unmatched();
  if (result.damaged > 0) throw new DamageFoundError(`${result.damaged} files were damaged in the store and not extracted (see above); run 'dtar verify --read-data' for a full report`);
  if (result.refused + result.failed > 0) throw new ExtractIncompleteError(result);
  if (missing.length > 0) throw notInArchive(missing);
  return result;
}

export function register(program: Command, io: Io): void {
  addStoreOptions(
    program
      .command('extract')
      .argument('<INDEX>', 'index tar written by dtar ingest')
      .argument('[PATH...]', 'only these members (a directory extracts everything below it); default: all')
      .description('extract files from a backup into a directory, fetching only their chunks')
      .option('-C, --directory <DIR>', 'extract into DIR (created if missing)', '.')
      .addHelpText(
        'after',
        `
Restores contents (sparse files with holes), modes as archived, modification times, symbolic
and hard links and FIFOs; as root also numeric owners and device nodes. Extended attributes
are not restored. Existing files are replaced.

Safety: a leading '/' is removed from member names (as GNU tar does); a member with a '..'
component, a hard link pointing outside DIR, and anything that would be written through a
symbolic link below DIR (one the archive created or one already there) is refused with a
message, and the other members are still extracted (exit code 2).

Examples:
  dtar extract home.index.tar -C /tmp/restore
  dtar extract home.index.tar home/alice/Documents home/alice/.ssh -C /tmp/restore`,
      ),
  ).action(async (index: string, paths: string[], flags: ExtractFlags) => {
    const r = await refuseArchivedFor(io, index, paths, flags, () => extractCommand(io, index, paths, flags, process.getuid?.() === 0));
    if (flags.json) io.stdout.write(jsonText({ entries: r.entries, bytes: r.bytes }) + '\n');
    else if (!flags.quiet) io.stderr.write(`extracted ${r.entries} entries, ${formatBytes(r.bytes)}\n`);
  });
}
