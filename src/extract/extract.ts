/**
 * Extraction of selected members of a backup into a directory. The index is read twice:
 * first to size the work and to find the targets of selected hard links that were not
 * selected themselves (such a target is extracted under the first link's name, as one
 * would expect from `tar x` of just that link); then to write the entries in archive order,
 * fetching only the chunks of what is written. A refused, damaged or unwritable entry is
 * reported and skipped; a store that cannot be read (archived, unreachable) stops it all.
 */
import { ArchivedError, BackendError, CorruptDataError, DtarError, escapeDecoded, escapeName, NotFoundError, systemErrorReason, UnsafePathError, WrongStoreError } from '../errors';
import { contentSize, IndexEntry, IndexInput, IndexItem, pullIndex, visitIndex } from '../index/reader';
import type { Repository } from '../repo/repository';
import { memberKey, Selection } from '../selection/selection';
import { BodyJob, BodyStream, noteBody, windowPlan } from '../read/bodies';
import { StretchPlan } from '../read/plan';
import { mapPulled } from '../tar/pull';
import { Placement, TargetDir } from './target';
import { EntryWriter, Preserve } from './writer';

export interface ExtractOptions {
  selection: Selection;
  /** Create devices (only root may). */
  asRoot: boolean;
  preserve: Preserve;
  /** A problem with one entry, reported as it happens. */
  warn(message: string): void;
  onProgress?(done: number, total: number): void;
}

export interface ExtractResult {
  entries: number;
  bytes: number;
  refused: number;
  damaged: number;
  failed: number;
}

interface Work {
  entry: IndexEntry;
  /** Extracted under another member's name (an unselected hard link target), or null. */
  alias: string | null;
}

/**
 * Pass one: bytes to write, for unselected hard link targets the link that needs them, and
 * the chunks of the selected files (brick stretches they use densely are read whole).
 */
async function survey(index: IndexInput, selection: Selection, plan: StretchPlan<string> | null): Promise<{ total: number; aliasFor: Map<string, string> }> {
  const aliasFor = new Map<string, string>();
  const unselectedSize = new Map<string, number>();
  let total = 0;
  await visitIndex(index.open(), index.where, index.auth, (item) => {
    if (item.kind !== 'entry') return;
    const h = item.header;
    if (!selection.matches(h.path)) {
      if (item.record) unselectedSize.set(memberKey(h.path), contentSize(item));
      return;
    }
    total += contentSize(item);
    if (item.record) noteBody(plan, item.record.body);
    const target = memberKey(h.linkpath);
    if (h.type === 'hardlink' && !selection.matches(h.linkpath, false) && !aliasFor.has(target)) {
      aliasFor.set(target, h.path);
      total += unselectedSize.get(target) ?? 0;
    }
  });
  return { total, aliasFor };
}

/** Errors that concern one entry; anything else (store unreachable, archived, wrong store) stops extraction. */
function entryProblem(e: unknown): 'refused' | 'damaged' | 'failed' | null {
  if (e instanceof UnsafePathError) return 'refused';
  if (e instanceof CorruptDataError || e instanceof NotFoundError) return 'damaged';
  if (e instanceof ArchivedError || e instanceof BackendError || e instanceof WrongStoreError) return null;
  if (e instanceof DtarError) return 'failed';
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && code !== 'ENOSPC' && code !== 'EDQUOT' && code !== 'EROFS' ? 'failed' : null;
}

/** `makeDir` makes the target directory and gives its real path: called once the index was read whole, so that a refused index creates nothing. */
export async function extractArchive(repo: Repository, index: IndexInput, makeDir: () => Promise<string>, opts: ExtractOptions): Promise<ExtractResult> {
  const plan = windowPlan(repo.backend);
  // Read whole (and so authenticated) before anything is created.
  const { total, aliasFor } = await survey(index, opts.selection, plan);
  const target = new TargetDir(await makeDir());
  const result: ExtractResult = { entries: 0, bytes: 0, refused: 0, damaged: 0, failed: 0 };
  const writer = new EntryWriter(target, {
    asRoot: opts.asRoot,
    preserve: opts.preserve,
    warn: opts.warn,
    onBytes: (n) => {
      result.bytes += n;
      opts.onProgress?.(result.bytes, total);
    },
  });
  /** Where each extracted alias target went: hard links to it point there. */
  const aliasPlaced = new Map<string, string>();

  const job = (item: IndexItem): BodyJob<Work> | undefined => {
    if (item.kind !== 'entry') return undefined;
    const h = item.header;
    let alias: string | null = null;
    if (!opts.selection.matches(h.path, false)) {
      alias = aliasFor.get(memberKey(h.path)) ?? null;
      if (alias === null || (h.type !== 'file' && h.type !== 'contiguous')) return undefined;
    }
    return { value: { entry: item, alias }, body: item.record?.body ?? null, path: escapeDecoded(h.path, h.pathBytes) };
  };

  const bodies = BodyStream.open(repo, mapPulled(pullIndex(index.open(), index.where, index.auth), job), plan);
  // The writer has written what it read before it reads again: that memory is free then.
  const read = async (): Promise<Buffer | null> => {
    bodies.release();
    return bodies.read();
  };
  try {
    let warnedAbsolute = false;
    for (let work = await bodies.next(); work; work = await bodies.next()) {
      const { entry, alias } = work;
      const h = entry.header;
      const name = alias === null ? h.pathBytes : Buffer.from(alias);
      try {
        const p = target.place(name);
        if (target.strippedAbsolute && !warnedAbsolute) {
          warnedAbsolute = true;
          opts.warn("removing leading '/' from member names");
        }
        let linkTarget: Placement | null = null;
        if (h.type === 'hardlink') {
          const key = memberKey(h.linkpath);
          const moved = aliasPlaced.get(key);
          if (moved === memberKey(h.path)) continue; // this link's own name already holds the contents
          linkTarget = target.place(moved !== undefined ? Buffer.from(moved) : h.linkpathBytes);
          if (linkTarget.components.length === 0) throw new UnsafePathError(p.display, 'hard link to the target directory itself');
        }
        const record = entry.record;
        const body = record ? { sparse: record.sparse, size: contentSize(entry), read } : null;
        await writer.write(p, h, body, linkTarget);
        if (alias !== null) aliasPlaced.set(memberKey(h.path), memberKey(alias));
        result.entries++;
      } catch (e) {
        const problem = entryProblem(e);
        if (!problem) throw e;
        result[problem]++;
        opts.warn(e instanceof DtarError ? e.message : `${escapeName(name)}: ${systemErrorReason(e) ?? (e as Error).message}`);
      }
    }
  } finally {
    await bodies.close();
  }
  await writer.finish();
  return result;
}
