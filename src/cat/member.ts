/**
 * One member's contents, as `dtar cat` writes them: the member found as tar would extract
 * it (its last copy, following a hard link to its target), then its chunks fetched and laid
 * out with sparse holes as zeros. The index is read twice: once to find the member (to its
 * end, which authenticates it), once more for the hard link's target.
 */
import { escapeName, UsageError } from '../errors';
import { BodyLayout } from '../extract/layout';
import { contentSize, IndexEntry, IndexItem } from '../index/reader';
import { BodyStream } from '../read/bodies';
import type { Repository } from '../repo/repository';
import { memberKey } from '../selection/selection';
import { pullArray } from '../tar/pull';

const ZEROS = Buffer.alloc(1024 * 1024);

/** The last entry named `key` before entry `before`. */
async function lastNamed(items: AsyncIterable<IndexItem>, key: string, before = Infinity): Promise<IndexEntry | null> {
  let found: IndexEntry | null = null;
  for await (const item of items) {
    if (item.kind !== 'entry') continue;
    if (item.seq >= before) break;
    if (memberKey(item.header.path) === key) found = item;
  }
  return found;
}

/** The regular file `path` names (through a hard link), or a usage error saying what it is instead. */
export async function findFile(items: () => AsyncIterable<IndexItem>, path: string): Promise<IndexEntry> {
  let entry = await lastNamed(items(), memberKey(path));
  if (!entry) throw new UsageError(`${escapeName(path)}: not in the archive`);
  if (entry.header.type === 'hardlink') {
    const target: IndexEntry | null = await lastNamed(items(), memberKey(entry.header.linkpath), entry.seq);
    if (!target) throw new UsageError(`${escapeName(path)}: hard link to ${escapeName(entry.header.linkpathBytes)}, which is not in the archive before it`);
    entry = target;
  }
  const h = entry.header;
  if (h.type !== 'file' && h.type !== 'contiguous') {
    const what = h.type === 'symlink' ? `a symbolic link to ${escapeName(h.linkpathBytes)}` : `a ${h.type}, not a file`;
    throw new UsageError(`${escapeName(path)}: ${what}`);
  }
  return entry;
}

/** Writes `entry`'s contents in order through `write` (which must be done with a piece when it resolves), holes as zeros. */
export async function writeFileContents(repo: Repository, entry: IndexEntry, write: (piece: Buffer) => Promise<void>): Promise<void> {
  const record = entry.record;
  if (!record) return;
  const zeros = async (n: number): Promise<void> => {
    for (let left = n; left > 0; left -= ZEROS.length) await write(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
  };
  const shown = escapeName(entry.header.pathBytes);
  const body = BodyStream.open(repo, pullArray([{ value: null, body: record.body, path: shown }]), null);
  try {
    await body.next();
    const layout = new BodyLayout(record.sparse, shown);
    let at = 0;
    for (let data = await body.read(); data; data = await body.read()) {
      for (const piece of layout.place(data)) {
        await zeros(piece.offset - at);
        await write(piece.data);
        at = piece.offset + piece.data.length;
      }
      body.release(); // written: its memory is free
    }
    await zeros(contentSize(entry) - at);
  } finally {
    await body.close();
  }
}
