/** `dtar ls INDEX [PATH...]`: the entries of a backup, from its index alone (no store, no passphrase). */
import type { Command } from 'commander';
import { escapeDecoded, jsonText } from '../errors';
import { readIndex } from '../index/reader';
import type { Io } from './context';
import { readIndexMeta } from './index-file';
import { entryJson, longLine } from './listing';
import { notInArchive, Selection } from '../archive/select';
import { writeChunk } from './stdout';
import { indexFileBytes } from '../index/file';

interface LsFlags {
  long?: boolean;
  json?: boolean;
}

export async function lsCommand(io: Io, index: string, paths: string[], flags: LsFlags): Promise<void> {
  await readIndexMeta(index);
  const selection = new Selection(paths);
  let batch = '';
  for await (const item of readIndex(indexFileBytes(index), index)) {
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
  program
    .command('ls')
    .argument('<INDEX>', 'index tar written by dtar ingest')
    .argument('[PATH...]', 'only these members (a directory lists everything below it)')
    .description('list the files of a backup, like tar tvf, with real file sizes; reads only the index')
    .option('-l, --long', 'mode, owner, size, date and link target, as tar tvf shows them')
    .option('--json', 'one JSON object per line: path, type, mode, uid, gid, uname, gname, size, mtime, linkpath')
    .addHelpText('after', '\nExamples:\n  dtar ls home.index.tar\n  dtar ls -l home.index.tar home/alice/Documents\n  dtar ls --json home.index.tar | jq -r \'select(.size > 1e9) | .path\'')
    .action(async (index: string, paths: string[], flags: LsFlags) => {
      await lsCommand(io, index, paths, flags);
    });
}
