/**
 * Messages between ingest's main thread and its chunk workers. The main thread only reads
 * and parses the tar; a worker owns everything per byte: a body's SHA-256, cutting it into
 * chunks, the chunk ids, and (for the chunks the main thread finds new) compression and
 * sealing. Two round trips per batch: `data` -> `chunks` (ids, for deduplication against
 * the catalogue, which lives on the main thread) -> `seal` -> `sealed`.
 * A body is cut by one worker, so a large file would keep one worker busy while the other
 * idles; the main thread then has the cutting worker `export` the batch's new chunks,
 * which another worker seals (`sealPlains` -> `sealed`); the buffer that carried them goes
 * back to the exporting worker (`output`).
 */

export interface WorkerInit {
  /** The data key, or with `sealedToStore` the `chunks` key of a writer key's agreement. */
  sealKey: Uint8Array;
  sealedToStore: boolean;
  idKey: Uint8Array;
  gear: Uint32Array;
  chunker: { min: number; avg: number; max: number };
  level: number;
}

/** A piece of one body: bytes [off, off+len) of the batch buffer. */
export interface Piece {
  body: number;
  off: number;
  len: number;
  /** This piece ends the body. */
  last: boolean;
}

export interface DataMessage {
  t: 'data';
  batch: number;
  buf: Uint8Array;
  pieces: Piece[];
}

export interface SealMessage {
  t: 'seal';
  batch: number;
  /** Indexes, into the batch's chunk list, of the chunks to seal; the others are dropped. */
  keep: number[];
  /** Send the kept chunks back (an ExportMessage) for another worker to seal. */
  export: boolean;
}

/** Chunks for this worker to seal, cut by another: back to back in `plains`. */
export interface SealPlainsMessage {
  t: 'sealPlains';
  batch: number;
  plains: Uint8Array;
  lengths: number[];
  ids: Uint8Array;
}

export interface ChunksMessage {
  t: 'chunks';
  batch: number;
  /** Per chunk in cut order: the body it belongs to and its length; ids are 32 bytes each in `ids`. */
  bodies: number[];
  lengths: number[];
  ids: Uint8Array;
  /** Bodies that ended in this batch: their SHA-256 (32 bytes each in `sha256s`) and size. */
  ended: number[];
  sizes: number[];
  sha256s: Uint8Array;
}

/** A batch's kept chunks, for another worker to seal; the batch's buffer comes back with them. */
export interface ExportMessage {
  t: 'export';
  batch: number;
  plains: Uint8Array;
  lengths: number[];
  ids: Uint8Array;
  returned: ArrayBuffer;
}

export interface SealedMessage {
  t: 'sealed';
  batch: number;
  /** The kept chunks, sealed, in keep order: chunk i is nonce | bodies[i] | tag, nonce and tag being heads[28i, 28i+28). */
  heads: Uint8Array;
  bodies: Uint8Array[];
  /** The batch's buffer, given back for reuse. */
  returned: ArrayBuffer;
}

/** An `export` message's chunk buffer, given back once the other worker sealed its chunks, to export into again. */
export interface OutputMessage {
  t: 'output';
  buf: ArrayBuffer;
}

export type ToWorker = DataMessage | SealMessage | SealPlainsMessage | OutputMessage;
export type FromWorker = ChunksMessage | ExportMessage | SealedMessage;

/** The memory of the buffers that own their whole ArrayBuffer: only those can be moved to the other thread rather than copied. */
export function movable(bufs: readonly Uint8Array[]): ArrayBuffer[] {
  return bufs.filter((b) => b.byteOffset === 0 && b.byteLength === b.buffer.byteLength).map((b) => b.buffer as ArrayBuffer);
}
