/**
 * The builder's map from a path to its node, only while an index loads: an open-addressing
 * hash table keyed by (the node of the parent directory, the name's bytes in the arena).
 * Paths kept as strings in a Map outlived a scavenge or two each and made the collector a
 * fifth of loading an index (bench/README.md); this keeps two numbers per node and no string.
 */
import { ByteArena, Growable } from './packed';

const EMPTY = 0;

/** FNV-1a over bytes [from, to) of `buf`, seeded with the parent node. */
function nameHash(parent: number, buf: Uint8Array, from: number, to: number): number {
  let h = Math.imul(0x811c9dc5 ^ parent, 0x01000193);
  for (let i = from; i < to; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return h >>> 0;
}

export class PathIndex {
  /**
   * Slot s is [2s] a node number (0, the root's, is never a key: it marks an empty slot) and
   * [2s + 1] its hash, side by side: a probe reads one place in memory, not two.
   */
  private slots: Uint32Array;
  private count = 0;
  /** Per node: the node of its parent directory. */
  private readonly parentNode = new Growable(Uint32Array);

  constructor(
    private readonly bytes: ByteArena,
    private readonly nameOffset: Growable<Uint32Array>,
    private readonly nameLength: Growable<Uint32Array>,
    expected: number,
  ) {
    let size = 1024;
    while (size < expected * 2) size *= 2;
    this.slots = new Uint32Array(size * 2);
    if (expected > 1024) this.parentNode.reserve(expected + 64);
  }

  /**
   * Where the last find() that found nothing stopped: an entry's path is looked up, then added
   * (most are new), and add() then neither hashes the name again nor probes again.
   */
  private missed = { parent: -1, buf: null as Uint8Array | null, from: 0, to: 0, count: -1, hash: 0, slot: 0, mask: 0 };

  /** The node named buf[from, to) in the directory whose node is `parent`, or -1. */
  find(parent: number, buf: Uint8Array, from: number, to: number): number {
    const h = nameHash(parent, buf, from, to);
    const slots = this.slots;
    const mask = slots.length / 2 - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const node = slots[2 * s]!;
      if (node === EMPTY) {
        const m = this.missed;
        m.parent = parent;
        m.buf = buf;
        m.from = from;
        m.to = to;
        m.count = this.count;
        m.hash = h;
        m.slot = s;
        m.mask = mask;
        return -1;
      }
      if (
        slots[2 * s + 1] === h &&
        this.parentNode.get(node) === parent &&
        this.nameLength.get(node) === to - from &&
        this.bytes.matches(this.nameOffset.get(node), buf, from, to)
      ) {
        return node;
      }
    }
  }

  /**
   * Records node `node` (the next one: nodes are added in order, the root first), named
   * buf[from, to) in the directory whose node is `parent`; the caller found it absent.
   */
  add(node: number, parent: number, buf: Uint8Array, from: number, to: number): void {
    const m = this.missed;
    // The table is as the last find left it (count unchanged) and that find was for this name.
    const found = m.count === this.count && m.parent === parent && m.buf === buf && m.from === from && m.to === to;
    m.count = -1;
    const h = found ? m.hash : nameHash(parent, buf, from, to);
    this.parentNode.push(parent);
    if (node === 0) return; // the root: found by its empty path, never looked up
    if (++this.count * 4 > this.slots.length) this.grow();
    this.place(found && this.slots.length / 2 - 1 === m.mask ? m.slot : this.emptySlot(h), node, h);
  }

  private emptySlot(h: number): number {
    const mask = this.slots.length / 2 - 1;
    let s = h & mask;
    while (this.slots[2 * s] !== EMPTY) s = (s + 1) & mask;
    return s;
  }

  private place(s: number, node: number, h: number): void {
    this.slots[2 * s] = node;
    this.slots[2 * s + 1] = h;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    for (let s = 0; s < old.length; s += 2) if (old[s] !== EMPTY) this.place(this.emptySlot(old[s + 1]!), old[s]!, old[s + 1]!);
  }
}
