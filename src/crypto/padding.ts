/**
 * PADMÉ padding (Nikitin et al., PETS 2019): rounds a length up so that at most
 * O(log log L) bits of it stay visible, with at most ~12% (typically 1-3%) overhead.
 * Stored chunk sizes are padded with it so that the store does not reveal plaintext
 * lengths precisely enough to fingerprint known files.
 */
export function padme(length: number): number {
  if (length < 2) return length;
  const e = Math.floor(Math.log2(length));
  const s = Math.floor(Math.log2(e)) + 1;
  const lastBits = e - s;
  const mask = 2 ** lastBits - 1;
  // Integer arithmetic without 32-bit bitwise ops: lengths can exceed 2^31.
  return Math.ceil(length / (mask + 1)) * (mask + 1);
}
