/**
 * Rebuilds the original tar from an index and the store, streaming: headers and padding
 * come from the index, bodies from the bricks (read ahead, in order), and every body is
 * checked against its SHA-256 before the next item is written. Stops at the first damage
 * with an error naming the file and the brick. The index is read once whole before anything
 * is written, so that damage in it (caught by its trailer's checksum) writes nothing.
 */
import { escapeDecoded, escapeName, WrongStoreError } from '../errors';
import { IndexInput, IndexItem, pullIndex, visitIndex } from '../index/reader';
import type { Repository } from '../repo/repository';
import { BodyJob, BodyStream, DEFAULT_WINDOW, noteBody, windowPlan, WindowOptions } from '../read/bodies';
import { mapPulled } from '../tar/pull';

const OUTPUT_BATCH = 1024 * 1024;

/** What goes out around a body: the bytes before it (headers) and after it (padding). */
interface Around {
  before: Buffer | null;
  after: Buffer | null;
}

export interface RestoreProgress {
  bytesOut: number;
  totalBytes: number | null;
}

export interface RestoreOptions {
  readAhead?: WindowOptions;
  onProgress?: (p: RestoreProgress) => void;
}

export async function restoreTar(
  repo: Repository,
  /** The index; it is read twice (checked whole first, then restored from). */
  index: IndexInput,
  /** Takes consecutive pieces of the output (gathered, so that writes are large and few); they may be reused once it resolves. */
  write: (pieces: Buffer[]) => Promise<void>,
  opts: RestoreOptions = {},
): Promise<{ bytes: number }> {
  const plan = windowPlan(repo.backend);
  // Read whole, and so authenticated, before a byte is written.
  const checking = visitIndex(index.open(), index.where, index.auth, (item) => {
    if (item.kind === 'entry' && item.record) noteBody(plan, item.record.body);
    else if (item.kind === 'trailer') noteBody(plan, item.trailer.tail);
  });
  // Where a plan of brick stretches is made (stores where each request costs), the window
  // waits for all of it. Elsewhere the window fills while the check runs, on other threads
  // than the check's: only the first write waits for it.
  checking.catch(() => undefined); // its failure is awaited below, not left unhandled meanwhile
  let checked: Promise<void> | null = plan ? null : checking;
  if (plan) await checking;
  const passed = async (): Promise<void> => {
    const c = checked;
    checked = null;
    await c;
  };
  const progress: RestoreProgress = { bytesOut: 0, totalBytes: null };

  const job = (item: IndexItem): BodyJob<Around> | undefined => {
    switch (item.kind) {
      case 'meta':
        if (item.meta.storeId !== repo.id) {
          throw new WrongStoreError(`this index belongs to store ${item.meta.storeId.slice(0, 8)} (${escapeName(item.meta.store)}), not to the store opened (${repo.id.slice(0, 8)})`);
        }
        return undefined;
      case 'global':
        return { value: { before: item.raw, after: null }, body: null, path: '' };
      case 'entry':
        return { value: { before: item.original(), after: item.record ? item.padding : null }, body: item.record?.body ?? null, path: escapeDecoded(item.header.path, item.header.pathBytes) };
      case 'trailer':
        progress.totalBytes = item.trailer.tarSize;
        return { value: { before: null, after: null }, body: item.trailer.tail, path: '(end of archive)' };
    }
  };

  const bodies = BodyStream.open(repo, mapPulled(pullIndex(index.open(), index.where, index.auth), job), plan, opts.readAhead ?? DEFAULT_WINDOW);
  // Many small pieces (headers, small files, padding) are gathered into large writes.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    if (pendingBytes === 0) return;
    await passed();
    const pieces = pending;
    const bytes = pendingBytes;
    pending = [];
    pendingBytes = 0;
    await write(pieces);
    // Everything read so far went out with this write: its plaintext memory is free again.
    bodies.release();
    progress.bytesOut += bytes;
    opts.onProgress?.(progress);
  };
  /** Adds a piece to the next write; true when that write is due. */
  const add = (data: Buffer | null): boolean => {
    if (data && data.length > 0) {
      pending.push(data);
      pendingBytes += data.length;
    }
    return pendingBytes >= OUTPUT_BATCH;
  };

  // Jobs and pieces mostly come without a wait: a promise is awaited only when there is one.
  try {
    for (;;) {
      const next = bodies.next();
      const job = next instanceof Promise ? await next : next;
      if (!job) break;
      if (add(job.before)) await flush();
      for (;;) {
        const read = bodies.read();
        const data = read instanceof Promise ? await read : read;
        if (!data) break;
        if (add(data)) await flush();
      }
      if (add(job.after)) await flush();
    }
    await flush();
    await passed();
    return { bytes: progress.bytesOut };
  } catch (e) {
    // The check's verdict comes first: a forged or damaged index is reported as such.
    await passed();
    throw e;
  } finally {
    await bodies.close();
  }
}
