/**
 * Reads every catalogue segment straight from the store (no cache), tolerating damage: a
 * segment that does not authenticate or decode is reported instead of stopping the scan.
 * A segment of a newer format stops it (this dtar cannot tell what the catalogue holds),
 * unless the caller asks to have such segments listed apart (repair leaves them alone).
 * What verify, repair and stats need to know about the catalogue.
 */
import { listSegments } from '../catalogue/catalogue';
import { ChunkTable } from '../catalogue/chunk-table';
import { decodeSegment } from '../catalogue/segment';
import type { StoreKeys } from '../crypto/keys';
import { CorruptDataError, NotFoundError, UnsupportedFormatError } from '../errors';
import type { Backend } from '../store/backend';

export interface CatalogueScan {
  /** Every chunk in a readable segment (brick: the order its brick was first seen in). */
  chunks: ChunkTable;
  /** Brick id (hex) -> size recorded in the catalogue. */
  bricks: Map<string, number>;
  /** Sum of the plaintext lengths of distinct chunks. */
  plainBytes: number;
  /** Sum of the sealed lengths of distinct chunks. */
  sealedBytes: number;
  segments: string[];
  damaged: { key: string; message: string }[];
  /** Segments of a newer format, with `listNewer` (without, the first one throws). */
  newer: { key: string; message: string }[];
}

export async function scanCatalogue(backend: Backend, keys: Pick<StoreKeys, 'data' | 'x25519'>, opts: { listNewer?: boolean } = {}): Promise<CatalogueScan> {
  const scan: CatalogueScan = { chunks: new ChunkTable(), bricks: new Map(), plainBytes: 0, sealedBytes: 0, segments: [], damaged: [], newer: [] };
  const listed = await listSegments(backend);
  const order = new Map<string, number>();
  for (const { key, size } of listed) {
    let records;
    try {
      records = decodeSegment(keys, await backend.get(key, { maxLength: size }), key);
    } catch (e) {
      if (e instanceof NotFoundError) continue; // merged away since the listing
      if (e instanceof UnsupportedFormatError && opts.listNewer) scan.newer.push({ key, message: e.message });
      else if (e instanceof CorruptDataError) scan.damaged.push({ key, message: e.message });
      else throw e;
      continue;
    }
    scan.segments.push(key);
    for (const r of records) {
      const hex = r.id.toString('hex');
      if (!scan.bricks.has(hex)) scan.bricks.set(hex, r.size);
      const brick = order.get(hex) ?? order.set(hex, order.size).size - 1;
      for (const c of r.chunks) {
        if (scan.chunks.add(c.id, { brick, offset: c.offset, storedLength: c.storedLength, plainLength: c.plainLength })) {
          scan.plainBytes += c.plainLength;
          scan.sealedBytes += c.storedLength;
        }
      }
    }
  }
  return scan;
}
