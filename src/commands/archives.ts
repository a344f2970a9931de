/**
 * `dtar archives`: the index copies stored in the store; `dtar archives get NAME -o INDEX`
 * brings one back, so that the passphrase and the store are enough to recover everything.
 */
import type { Command } from 'commander';
import { escapeName, jsonText, UsageError } from '../errors';
import { Io, openRepositoryListing, StoreFlags } from './context';
import { formatBytes } from './format';
import { addStoreOptions } from './options';
import { writeOutputFile } from '../fs/output-file';
import { findStoredIndex, loadStoredIndex } from '../index-source/stored';
import { writeChunk } from './stdout';

interface ArchivesFlags extends StoreFlags {
  json?: boolean;
  quiet?: boolean;
}

interface GetFlags extends StoreFlags {
  output?: string;
  quiet?: boolean;
}

export async function archivesCommand(io: Io, flags: ArchivesFlags): Promise<void> {
  const { stored: all } = await openRepositoryListing(io, flags);
  if (flags.json) {
    const rows = all.map((s) => ({ id: s.id, size: s.size, ...(s.meta ?? {}), ...(s.damage ? { damage: s.damage } : {}) }));
    io.stdout.write(jsonText(rows) + '\n');
    return;
  }
  let out = '';
  for (const s of all) {
    const m = s.meta;
    out += m
      ? `${s.id}  ${m.created.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}  ${escapeName(m.name)}  ${m.entries} entries  ${formatBytes(m.tarSize)} tar  ${formatBytes(m.indexSize)} index\n`
      : `${s.id}  damaged: ${s.damage ?? 'unreadable'}\n`;
  }
  if (out) await writeChunk(io.stdout, Buffer.from(out));
  else if (!flags.quiet) io.stderr.write('no indexes stored yet\n');
}

export async function archivesGetCommand(io: Io, name: string, flags: GetFlags): Promise<void> {
  if (!flags.output && io.stdoutIsTTY) throw new UsageError('refusing to write an index to a terminal: give -o INDEX or redirect stdout');
  const { repo, stored: all } = await openRepositoryListing(io, flags);
  const stored = findStoredIndex(all, name);
  const index = await loadStoredIndex(repo, stored);
  if (!flags.output) return writeChunk(io.stdout, index);
  await writeOutputFile(flags.output, (handle) => handle.write(index));
  if (!flags.quiet) io.stderr.write(`wrote ${escapeName(stored.meta?.name ?? stored.id)} (${stored.id}) to ${flags.output}\n`);
}

export function register(program: Command, io: Io): void {
  const archives = addStoreOptions(
    program
      .command('archives')
      .description('list the indexes kept in the store: id, date, name, entries, sizes')
      .addHelpText('after', '\nExamples:\n  dtar archives\n  dtar archives --json | jq -r \'.[].name\'\n  dtar archives get nightly -o nightly.index.tar'),
  ).action(async (flags: ArchivesFlags) => {
    await archivesCommand(io, flags);
  });
  addStoreOptions(
    archives
      .command('get')
      .argument('<NAME>', 'an id from `dtar archives` (or a unique start of one), or a name (the newest with that name)')
      .description('bring a stored index back as an index tar')
      .option('-o, --output <INDEX>', 'write it here (default: standard output)')
      .addHelpText('after', '\nExamples:\n  dtar archives get 20250102T030405Z-1a2b3c4d5e6f -o home.index.tar\n  dtar archives get nightly -o nightly.index.tar && dtar restore nightly.index.tar | tar x'),
    { json: false },
  ).action(async (name: string, flags: GetFlags) => {
    await archivesGetCommand(io, name, flags);
  });
}
