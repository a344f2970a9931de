/** `dtar restore INDEX [-o FILE]`: the original tar, byte for byte. */
import type { Command } from 'commander';
import { UsageError } from '../errors';
import { restoreTar } from '../restore/restore';
import { refusePruned } from '../retention/pruned';
import { refuseArchived } from '../thaw/refusal';
import { Io, StoreFlags } from './context';
import { INDEX_ARGUMENT, openIndex } from './index-file';
import { addStoreOptions } from './options';
import { tempFileFor } from '../fs/output-file';
import { writePieces } from './stdout';

interface RestoreFlags extends StoreFlags {
  output?: string;
  quiet?: boolean;
}

export async function restoreCommand(io: Io, index: string, flags: RestoreFlags): Promise<number> {
  if (!flags.output && io.stdoutIsTTY) throw new UsageError('refusing to write a tar to a terminal: give -o FILE or redirect stdout');
  const { repo, items, source, input } = await openIndex(io, index, flags);
  const progress = flags.quiet ? null : io.progress('restore');
  const onProgress = progress ? (p: { bytesOut: number; totalBytes: number | null }): void => progress.update(p.bytesOut, p.totalBytes) : undefined;
  // Bricks in Glacier: one message counting those not thawed and naming `dtar thaw`.
  const hint = { index, paths: [], store: flags };
  if (!flags.output) {
    const r = await refusePruned(repo, source, () => refuseArchived(repo, hint, items, () => restoreTar(repo, input, (pieces) => writePieces(io.stdout, pieces), { onProgress })));
    progress?.done();
    return r.bytes;
  }
  const tmp = await tempFileFor(flags.output);
  try {
    const r = await refusePruned(repo, source, () =>
      refuseArchived(repo, hint, items, () => restoreTar(repo, input, async (pieces) => void (await tmp.handle.writev(pieces)), { onProgress })),
    );
    await tmp.publish();
    progress?.done();
    return r.bytes;
  } catch (e) {
    progress?.done();
    await tmp.discard();
    throw e;
  }
}

export function register(program: Command, io: Io): void {
  addStoreOptions(
    program
      .command('restore')
      .argument('<INDEX>', INDEX_ARGUMENT)
      .description('write the original tar, byte for byte, to stdout or a file')
      .option('-o, --output <FILE>', 'write here instead of standard output')
      .addHelpText('after', '\nExamples:\n  dtar restore home.index.tar | tar x\n  dtar restore home.index.tar -o home.tar\n  dtar restore @home -o home.tar'),
    { json: false },
  ).action(async (index: string, flags: RestoreFlags) => {
    await restoreCommand(io, index, flags);
  });
}
