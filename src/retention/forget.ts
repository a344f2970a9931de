/**
 * Forget: which stored index copies a keep policy (or an explicit list) drops, and dropping
 * them. Only index copies are removed, never bricks: `prune` frees what no remaining copy
 * uses. Deleting a copy is one atomic delete, and the policy keeps the same archives when
 * run again on what is left, so a forget that is interrupted is finished by running it again.
 */
import { findStoredIndex, listStoredIndexes, StoredIndex } from '../index-source/stored';
import type { Repository } from '../repo/repository';
import { applyPolicy, KeepPolicy, KeepRule } from './policy';

export interface ForgetDecision {
  stored: StoredIndex;
  keep: boolean;
  /** The rules that keep it; `unreadable` for a copy whose metadata cannot be read, which is never dropped. */
  reasons: (KeepRule | 'unreadable')[];
}

export type ForgetChoice = { policy: KeepPolicy; name?: string } | { archives: readonly string[] };

/**
 * With a policy: a decision for every copy (of `name` only, when given), grouped by name,
 * newest first. With archives: a drop for each (an id, or the newest copy with that name).
 */
export async function planForget(repo: Repository, choice: ForgetChoice): Promise<ForgetDecision[]> {
  const all = await listStoredIndexes(repo);
  if ('archives' in choice) {
    const picked = new Map<string, StoredIndex>();
    for (const a of choice.archives) {
      const s = findStoredIndex(all, a);
      picked.set(s.key, s);
    }
    return [...picked.values()].map((stored) => ({ stored, keep: false, reasons: [] }));
  }
  const readable: (StoredIndex & { name: string; created: number })[] = [];
  const out: ForgetDecision[] = [];
  for (const s of all) {
    const created = s.meta ? Date.parse(s.meta.created) : NaN;
    if (!s.meta || Number.isNaN(created)) {
      if (choice.name === undefined) out.push({ stored: s, keep: true, reasons: ['unreadable'] });
    } else if (choice.name === undefined || s.meta.name === choice.name) readable.push({ ...s, name: s.meta.name, created });
  }
  for (const d of applyPolicy(readable, choice.policy)) out.push({ stored: d.archive, keep: d.keep, reasons: d.reasons });
  return out;
}

/** Deletes the copies dropped, oldest first; `onDropped` after each. */
export async function forget(repo: Repository, decisions: readonly ForgetDecision[], onDropped?: (d: ForgetDecision) => void): Promise<void> {
  const dropped = decisions.filter((d) => !d.keep).sort((a, b) => (a.stored.meta?.created ?? '').localeCompare(b.stored.meta?.created ?? ''));
  for (const d of dropped) {
    await repo.backend.delete(d.stored.key);
    onDropped?.(d);
  }
}
