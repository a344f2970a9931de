/**
 * Messages between ingest's main thread and its chunk workers. The main thread only reads
 * and parses the tar; a worker owns everything per byte: a body's SHA-256, cutting it into
 * chunks, the chunk ids, and (for the chunks the main thread finds new) compression and
 * sealing. Two round trips per batch: `data` -> `chunks` (ids, for deduplication against
 * the catalogue, which lives on the main thread) -> `seal` -> `sealed`.
 */

export interface WorkerInit {
  dataKey: Uint8Array;
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

export interface SealedMessage {
  t: 'sealed';
  batch: number;
  /** The kept chunks, sealed, in keep order. */
  sealed: Uint8Array[];
  /** The batch's buffer, given back for reuse. */
  returned: ArrayBuffer;
}

export type ToWorker = DataMessage | SealMessage;
export type FromWorker = ChunksMessage | SealedMessage;
