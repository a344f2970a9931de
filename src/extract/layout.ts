/**
 * Where the bytes of a stored body go in the file: in order for a plain file; for a sparse
 * one, the stored body is the data segments of the sparse map back to back, and the gaps
 * between them (and up to the real size) are holes that read as zeros.
 */
import { BadIndexError } from '../errors';
import type { SparseInfo } from '../tar/types';

export interface Piece {
  /** Offset in the expanded file. */
  offset: number;
  data: Buffer;
}

export class BodyLayout {
  private stored = 0;
  private segment = 0;
  private within = 0;

  constructor(
    private readonly sparse: SparseInfo | null,
    /** Names the file in errors (escaped: see escapeName). */
    private readonly path: string,
  ) {}

  /** Splits the next stored bytes into pieces at their places in the expanded file. */
  place(data: Buffer): Piece[] {
    const map = this.sparse?.map;
    if (!map) {
      const piece = { offset: this.stored, data };
      this.stored += data.length;
      return [piece];
    }
    const out: Piece[] = [];
    let rest = data;
    while (rest.length > 0) {
      const seg = map[this.segment];
      if (!seg) throw new BadIndexError(`${this.path}: stored body is longer than its sparse map`);
      const n = Math.min(seg.length - this.within, rest.length);
      if (n > 0) out.push({ offset: seg.offset + this.within, data: rest.subarray(0, n) });
      rest = rest.subarray(n);
      this.within += n;
      if (this.within >= seg.length) {
        this.segment++;
        this.within = 0;
      }
    }
    return out;
  }
}

