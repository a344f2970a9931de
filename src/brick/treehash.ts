/**
 * Amazon Glacier's tree hash: SHA-256 over each 1 MiB, then pairwise up to one root.
 * Recorded per brick so that a brick can be checked against Glacier's own checksums.
 */
import { createHash } from 'node:crypto';

const MIB = 1024 * 1024;

function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** The tree hash of the concatenation of `parts`, without concatenating them. */
export function treeHash(parts: readonly Uint8Array[]): Buffer {
  let level: Buffer[] = [];
  let h = createHash('sha256');
  let fill = 0;
  for (const part of parts) {
    for (let off = 0; off < part.length; ) {
      const take = Math.min(MIB - fill, part.length - off);
      h.update(part.subarray(off, off + take));
      fill += take;
      off += take;
      if (fill === MIB) {
        level.push(h.digest());
        h = createHash('sha256');
        fill = 0;
      }
    }
  }
  if (fill > 0 || level.length === 0) level.push(h.digest());
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const a = level[i]!;
      const b = level[i + 1];
      next.push(b ? sha256(a, b) : a);
    }
    level = next;
  }
  return level[0]!;
}
