/** `dtar cat INDEX PATH`: one file's contents to stdout, sparse holes as zeros. */
import type { Command } from 'commander';
import { findFile, writeFileContents } from '../cat/member';
import { refuseArchived } from '../thaw/refusal';
import { refusePruned } from '../retention/pruned';
import { Io, StoreFlags } from './context';
import { INDEX_ARGUMENT, openIndex } from './index-file';
import { addStoreOptions } from './options';
import { writeChunk } from './stdout';

export async function catCommand(io: Io, index: string, path: string, flags: StoreFlags): Promise<void> {
  const { repo, items, source } = await openIndex(io, index, flags);
  // The search reads the index to its end, which authenticates it, before anything is used.
  const entry = await findFile(items, path);
  await refusePruned(repo, source, () => refuseArchived(repo, { index, paths: [path], store: flags }, items, () => writeFileContents(repo, entry, (piece) => writeChunk(io.stdout, piece))));
}

export function register(program: Command, io: Io): void {
  addStoreOptions(
    program
      .command('cat')
      .argument('<INDEX>', INDEX_ARGUMENT)
      .argument('<PATH>', 'the file in the archive')
      .description("write one file's contents to standard output")
      .addHelpText('after', '\nExamples:\n  dtar cat home.index.tar home/alice/.bashrc\n  dtar cat etc.index.tar etc/fstab | diff - /etc/fstab'),
    { json: false, quiet: false },
  ).action(async (index: string, path: string, flags: StoreFlags) => {
    await catCommand(io, index, path, flags);
  });
}
