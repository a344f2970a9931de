/** `dtar init`: create a store with a fresh master key wrapped by the passphrase. */
import type { Command } from 'commander';
import { jsonText } from '../errors';
import { Repository } from '../repo/repository';
import { backendFor, cacheRoot, Io, kdfLogN, passphrase, StoreFlags } from './context';
import { parseSize } from './format';
import { addStoreOptions } from './options';

interface InitFlags extends StoreFlags {
  brickSize?: string;
  quiet?: boolean;
  json?: boolean;
}

export async function initCommand(io: Io, flags: InitFlags): Promise<Repository> {
  const backend = backendFor(io, flags);
  const brickSize = flags.brickSize ? parseSize(flags.brickSize, '--brick-size') : undefined;
  return Repository.init(backend, await passphrase(io, true), { brickSize, kdfLogN: kdfLogN(io) }, cacheRoot(io, flags));
}

export function register(program: Command, io: Io): void {
  addStoreOptions(
    program
      .command('init')
      .description('create a new store')
      .option('--brick-size <SIZE>', 'target brick size (default 32M; 1M to 1G)')
      .addHelpText('after', '\nExamples:\n  DTAR_PASSWORD_FILE=~/.dtar-pass dtar init\n  dtar init --store s3://my-bucket/backups'),
  ).action(async (flags: InitFlags) => {
    const repo = await initCommand(io, flags);
    if (flags.json) io.stdout.write(jsonText({ store: repo.backend.location, id: repo.id }) + '\n');
    else if (!flags.quiet) io.stderr.write(`created store ${repo.id.slice(0, 8)} at ${repo.backend.location}\n`);
  });
}
