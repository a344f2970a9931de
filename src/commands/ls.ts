/**
 * `dtar ls INDEX [PATH...]`: the entries of a backup, from its index. The store's key is
 * needed to authenticate the index: a listing is something a user acts on.
 */
import type { Command } from 'commander';
import { escapeDecoded, jsonText } from '../errors';
import type { Io, StoreFlags } from './context';
import { INDEX_ARGUMENT, openIndex } from './index-file';
import { entryJson, longLine } from './listing';
import { addStoreOptions } from './options';
import { notInArchive, Selection } from '../selection/selection';
import { writeChunk } from './stdout';

interface LsFlags extends StoreFlags {
  long?: boolean;
  json?: boolean;
}

export async function lsCommand(io: Io, index: string, paths: string[], flags: LsFlags): Promise<void> {
  const { items, check } = await openIndex(io, index, flags);
  // Listing streams, so the index is read once first to authenticate it: nothing is printed from a rewritten one.
  await check();
  const selection = new Selection(paths);
  let batch = '';
  for await (const item of items()) {
    if (item.kind !== 'entry' || !selection.matches(item.header.path)) continue;
    batch += (flags.json ? jsonText(entryJson(item)) : flags.long ? longLine(item) : escapeDecoded(item.header.path, item.header.pathBytes)) + '\n';
    if (batch.length > 64 * 1024) {
      await writeChunk(io.stdout, Buffer.from(batch));
      batch = '';
    }
  }
  if (batch) await writeChunk(io.stdout, Buffer.from(batch));
  const missing = selection.unmatched();
  if (missing.length > 0) throw notInArchive(missing);
}

export function register(program: Command, io: Io): void {
  addStoreOptions(
    program
      .command('ls')
      .argument('<INDEX>', INDEX_ARGUMENT)
      .argument('[PATH...]', 'only these members (a directory lists everything below it)')
      .description("list the files of a backup, like tar tvf, with real file sizes; reads only the index (the store's key authenticates it)")
      .option('-l, --long', 'mode, owner, size, date and link target, as tar tvf shows them')
      .addHelpText('after', '\n--json: one JSON object per line: path, type, mode, uid, gid, uname, gname, size, mtime, linkpath.\n\nExamples:\n  dtar ls home.index.tar\n  dtar ls -l home.index.tar home/alice/Documents\n  dtar ls --json home.index.tar | jq -r \'select(.size > 1e9) | .path\''),
    { quiet: false },
  ).action(async (index: string, paths: string[], flags: LsFlags) => {
    await lsCommand(io, index, paths, flags);
  });
}
