/**
 * `dtar cat INDEX PATH`: one file's contents to stdout, sparse holes as zeros. The index is
 * read twice: once to find the member (its last copy, as tar would extract it, following a
 * hard link to its target), once more to fetch just its chunks.
 */
import type { Command } from 'commander';
import { escapeName, UsageError } from '../errors';
import { contentSize, IndexEntry, IndexItem } from '../index/reader';
import { BodyLayout } from '../extract/layout';
import { BodyStream } from '../read/bodies';
import { Io, StoreFlags } from './context';
import { openIndex } from './index-file';
import { addStoreOptions } from './options';
import { memberKey } from '../archive/select';
import { writeChunk } from './stdout';
import { refuseArchived } from '../thaw/refusal';
import { refusePruned } from '../retention/pruned';
import { pullArray } from '../tar/pull';

const ZEROS = Buffer.alloc(1024 * 1024);

/** The last entry named `key` before entry `before`. */
async function findMember(items: AsyncIterable<IndexItem>, key: string, before = Infinity): Promise<IndexEntry | null> {
  let found: IndexEntry | null = null;
  for await (const item of items) {
    if (item.kind !== 'entry') continue;
    if (item.seq >= before) break;
    if (memberKey(item.header.path) === key) found = item;
  }
  return found;
}

async function writeZeros(io: Io, n: number): Promise<void> {
  for (let left = n; left > 0; left -= ZEROS.length) await writeChunk(io.stdout, ZEROS.subarray(0, Math.min(left, ZEROS.length)));
}

export async function catCommand(io: Io, index: string, path: string, flags: StoreFlags): Promise<void> {
  const { repo, items, meta } = await openIndex(io, index, flags);
  // This search reads the index to its end, which authenticates it, before anything is used.
  let entry = await findMember(items(), memberKey(path));
  if (!entry) throw new UsageError(`${escapeName(path)}: not in the archive`);
  if (entry.header.type === 'hardlink') {
    const target: IndexEntry | null = await findMember(items(), memberKey(entry.header.linkpath), entry.seq);
    if (!target) throw new UsageError(`${escapeName(path)}: hard link to ${escapeName(entry.header.linkpathBytes)}, which is not in the archive before it`);
    entry = target;
  }
  const h = entry.header;
  if (h.type !== 'file' && h.type !== 'contiguous') {
    const what = h.type === 'symlink' ? `a symbolic link to ${escapeName(h.linkpathBytes)}` : `a ${h.type}, not a file`;
    throw new UsageError(`${escapeName(path)}: ${what}`);
  }
  const record = entry.record;
  if (!record) return;
  const size = contentSize(entry);
  const shown = escapeName(h.pathBytes);
  await refusePruned(repo, index, meta, () => refuseArchived(repo.backend, { index, paths: [path], store: flags }, items, async () => {
    const body = BodyStream.open(repo, pullArray([{ value: null, body: record.body, path: shown }]), null);
    try {
      await body.next();
      const layout = new BodyLayout(record.sparse, shown);
      let at = 0;
      for (let data = await body.read(); data; data = await body.read()) {
        for (const piece of layout.place(data)) {
          await writeZeros(io, piece.offset - at);
          await writeChunk(io.stdout, piece.data);
          at = piece.offset + piece.data.length;
        }
        body.release(); // written: its memory is free
      }
      await writeZeros(io, size - at);
    } finally {
      await body.close();
    }
  }));
}

export function register(program: Command, io: Io): void {
  addStoreOptions(
    program
      .command('cat')
      .argument('<INDEX>', 'index tar written by dtar ingest')
      .argument('<PATH>', 'the file in the archive')
      .description("write one file's contents to standard output")
      .addHelpText('after', '\nExamples:\n  dtar cat home.index.tar home/alice/.bashrc\n  dtar cat etc.index.tar etc/fstab | diff - /etc/fstab'),
  ).action(async (index: string, path: string, flags: StoreFlags) => {
    await catCommand(io, index, path, flags);
  });
}
