/**
 * Which bricks a set of archive members needs: every brick holding a chunk of a selected
 * member's body, of the target of a selected hard link, and, when the whole archive is
 * selected, of the archive's end. Reads only the index; the store is not touched.
 */
import { memberKey, Selection } from '../selection/selection';
import type { IndexItem } from '../index/reader';
import type { ChunkRef } from '../index/record';

/** What a selection needs from one brick. */
export interface BrickNeed {
  /** Brick id, hex. */
  id: string;
  /** Plaintext bytes of the selection's chunks in this brick (the brick itself may hold more). */
  plainBytes: number;
}

export interface BrickPlan {
  /** In order of first use, so that requests go out in the order a restore reads. */
  bricks: BrickNeed[];
  /** Members selected (entries of any type). */
  members: number;
}

export interface PlanSelection {
  /** True when no PATH was given: the whole archive, its end included. */
  all: boolean;
  matches(path: string): boolean;
  /** How member paths compare (no leading "./" or "/", no trailing "/"). */
  key(path: string): string;
}

/**
 * `readIndex` is called once, or twice when a selected hard link points outside the
 * selection (a second pass finds the targets, which come before their links).
 */
export async function planBricks(readIndex: () => AsyncIterable<IndexItem>, selection: PlanSelection): Promise<BrickPlan> {
  const needs = new Map<string, BrickNeed>();
  const add = (chunks: readonly ChunkRef[]): void => {
    for (const c of chunks) {
      const id = c.brick.toString('hex');
      const need = needs.get(id);
      if (need) need.plainBytes += c.plainLength;
      else needs.set(id, { id, plainBytes: c.plainLength });
    }
  };
  let members = 0;
  /** Hard-link targets outside the selection: target key -> seq of the first link naming it. */
  const targets = new Map<string, number>();
  for await (const item of readIndex()) {
    if (item.kind === 'trailer' && selection.all) add(item.trailer.tail.chunks);
    if (item.kind !== 'entry' || !selection.matches(item.header.path)) continue;
    members++;
    if (item.record) add(item.record.body.chunks);
    if (item.header.type === 'hardlink' && !selection.all && !selection.matches(item.header.linkpath)) {
      const target = selection.key(item.header.linkpath);
      if (!targets.has(target)) targets.set(target, item.seq);
    }
  }
  if (targets.size > 0) {
    // A link's contents are those of the last entry of its target's name before it.
    const last = new Map<string, ChunkRef[]>();
    for await (const item of readIndex()) {
      if (item.kind !== 'entry') continue;
      const key = selection.key(item.header.path);
      const before = targets.get(key);
      if (before !== undefined && item.seq < before && item.record) last.set(key, item.record.body.chunks);
    }
    for (const chunks of last.values()) add(chunks);
  }
  return { bricks: [...needs.values()], members };
}

/** The plan for PATH arguments as commands take them (a directory selects everything below). */
export async function planForPaths(readIndex: () => AsyncIterable<IndexItem>, paths: readonly string[]): Promise<BrickPlan & { unmatched: string[] }> {
  const selection = new Selection(paths);
  const plan = await planBricks(readIndex, { all: selection.all, matches: (p) => selection.matches(p), key: memberKey });
  return { ...plan, unmatched: selection.unmatched() };
}
