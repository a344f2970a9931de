/**
 * Seeded mutations of tar archives for the fuzz tests: bit flips, bytes set to values tar
 * parsers care about (NUL, space, octal digits, 0x80/0xff base-256 markers), header fields
 * overwritten and their checksum recomputed (so that the mutation gets past the checksum
 * into the parsing behind it), blocks cut, duplicated, dropped or inserted. Every choice
 * comes from the Rng, so a case is replayed from its seed.
 */
import { checksumMatches, recomputeChecksum } from '../../src/tar/header';
import type { Rng } from '../support/random';

const INTERESTING = [0x00, 0x20, 0x30, 0x37, 0x38, 0x39, 0x0a, 0x3d, 0x80, 0xff, 0x7f, 0x2f, 0x2e];
/** Offsets and lengths of ustar header fields worth breaking. */
const FIELDS: [number, number][] = [
  [0, 100], // name
  [100, 8], // mode
  [124, 12], // size
  [136, 12], // mtime
  [156, 1], // typeflag
  [157, 100], // linkname
  [257, 8], // magic + version
  [345, 155], // prefix (or GNU sparse map)
  [386, 96], // GNU sparse entries
  [482, 1], // GNU isextended
  [483, 12], // GNU realsize
];

/** Offsets of the 512-byte blocks of `tar` that are valid headers. */
export function headerBlocks(tar: Buffer): number[] {
  const out: number[] = [];
  for (let o = 0; o + 512 <= tar.length; o += 512) if (checksumMatches(tar.subarray(o, o + 512))) out.push(o);
  return out;
}

/** Mutations that keep the length (for indexes whose checksum is resealed afterwards). */
export function mutateInPlace(rng: Rng, input: Buffer, headers: number[]): Buffer {
  const out = Buffer.from(input);
  const n = 1 + rng.int(4);
  for (let k = 0; k < n; k++) {
    const kind = rng.int(4);
    if (kind === 0 || headers.length === 0) {
      const at = rng.int(out.length);
      out[at]! ^= 1 << rng.int(8);
    } else if (kind === 1) {
      out[rng.int(out.length)] = rng.pick(INTERESTING);
    } else {
      // A header field rewritten, checksum fixed: the parser has to cope with what it says.
      const h = rng.pick(headers);
      const [off, len] = rng.pick(FIELDS);
      const value = rng.int(3);
      for (let i = 0; i < len; i++) {
        if (value === 0) out[h + off + i] = rng.pick(INTERESTING);
        else if (value === 1) out[h + off + i] = 0x30 + rng.int(8); // octal digits: huge sizes, odd modes
        else if (rng.int(4) === 0) out[h + off + i] = rng.int(256);
      }
      if (kind === 3 && off === 124) out[h + 124] = 0x80; // base-256 size
      recomputeChecksum(out.subarray(h, h + 512));
    }
  }
  return out;
}

/** Any mutation, including ones that change the length. */
export function mutate(rng: Rng, input: Buffer): Buffer {
  const headers = headerBlocks(input);
  const kind = rng.int(10);
  const blocks = Math.max(1, Math.floor(input.length / 512));
  const block = rng.int(blocks) * 512;
  switch (kind) {
    case 0: // cut anywhere
      return input.subarray(0, rng.int(input.length));
    case 1: // cut at a block boundary
      return input.subarray(0, block);
    case 2: // a block dropped
      return Buffer.concat([input.subarray(0, block), input.subarray(block + 512)]);
    case 3: // a block duplicated
      return Buffer.concat([input.subarray(0, block + 512), input.subarray(block, block + 512), input.subarray(block + 512)]);
    case 4: {
      // random bytes inserted
      const junk = Buffer.alloc(1 + rng.int(1024));
      for (let i = 0; i < junk.length; i++) junk[i] = rng.int(256);
      const at = rng.int(input.length);
      return Buffer.concat([input.subarray(0, at), junk, input.subarray(at)]);
    }
    default:
      return mutateInPlace(rng, input, headers);
  }
}
