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

export function treeHash(data: Uint8Array): Buffer {
  let level: Buffer[] = [];
  for (let off = 0; off < data.length; off += MIB) level.push(sha256(data.subarray(off, off + MIB)));
  if (level.length === 0) return sha256(new Uint8Array(0));
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
