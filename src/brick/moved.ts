/**
 * Forwarding records of repacked bricks (docs/FORMAT.md §12): `moved/<old brick id hex>`
 * says where each live chunk of a brick that `prune --repack` rewrote lies now. Index records
 * name a chunk's brick and offset, and local indexes cannot be rewritten, so a reader that
 * meets a missing brick asks for its record and reads the chunk at its new place. The
 * chunk's sealed bytes were copied as they are, so it opens under its id as before.
 *
 * Layout: "DTMOV1\0\0" | seal(data key, count u32 | count × (oldOffset u32 | newBrick[32] |
 * newOffset u32 | storedLength u32), AAD "dtar-moved-v1\0" | old brick id).
 */
import { open, seal } from '../crypto/aead';
import { CorruptDataError, magicVersion, NotFoundError } from '../errors';
import type { Backend } from '../store/backend';
import { BrickChunk, brickKey } from './format';

export const MOVED_PREFIX = 'moved/';
const MAGIC = Buffer.from('DTMOV1\0\0', 'latin1');
const AAD_LABEL = Buffer.from('dtar-moved-v1\0', 'latin1');
const ENTRY_SIZE = 44;
/** A record holds at most this many chunks (a brick of 1 GiB of 64 KiB chunks holds 16,384): bounds what a reader allocates. */
const MAX_ENTRIES = 1 << 20;
/** A chunk moved more than this many times over is taken for a loop of records: damage. */
export const MAX_HOPS = 16;

/** Where a chunk of the old brick lies now. */
export interface MovedChunk {
  oldOffset: number;
  newBrick: Buffer;
  newOffset: number;
  storedLength: number;
}

export function movedKey(oldHex: string): string {
  return `${MOVED_PREFIX}${oldHex}`;
}

function aad(oldId: Buffer): Buffer {
  return Buffer.concat([AAD_LABEL, oldId]);
}

export function encodeMoved(dataKey: Buffer, oldId: Buffer, chunks: readonly MovedChunk[]): Buffer {
  const plain = Buffer.alloc(4 + chunks.length * ENTRY_SIZE);
  plain.writeUInt32LE(chunks.length, 0);
  let o = 4;
  for (const c of chunks) {
    plain.writeUInt32LE(c.oldOffset, o);
    c.newBrick.copy(plain, o + 4);
    plain.writeUInt32LE(c.newOffset, o + 36);
    plain.writeUInt32LE(c.storedLength, o + 40);
    o += ENTRY_SIZE;
  }
  return Buffer.concat([MAGIC, seal(dataKey, plain, aad(oldId))]);
}

/** A brick's forwarding record, authenticated: by old offset. */
export function decodeMoved(dataKey: Buffer, oldHex: string, bytes: Buffer): Map<number, MovedChunk> {
  const where = movedKey(oldHex);
  if (magicVersion(bytes, MAGIC, 5, () => where) === null) throw new CorruptDataError(`${where}: not a dtar forwarding record`);
  const plain = open(dataKey, bytes.subarray(MAGIC.length), aad(Buffer.from(oldHex, 'hex')), where);
  const count = plain.length >= 4 ? plain.readUInt32LE(0) : -1;
  if (count < 0 || count > MAX_ENTRIES || plain.length !== 4 + count * ENTRY_SIZE) throw new CorruptDataError(`${where}: size mismatch`);
  const out = new Map<number, MovedChunk>();
  for (let i = 0, o = 4; i < count; i++, o += ENTRY_SIZE) {
    const c: MovedChunk = { oldOffset: plain.readUInt32LE(o), newBrick: Buffer.from(plain.subarray(o + 4, o + 36)), newOffset: plain.readUInt32LE(o + 36), storedLength: plain.readUInt32LE(o + 40) };
    out.set(c.oldOffset, c);
  }
  return out;
}

/** The most a record may be: its magic, nonce, tag and MAX_ENTRIES entries. */
const MAX_RECORD = MAGIC.length + 28 + 4 + MAX_ENTRIES * ENTRY_SIZE;

/**
 * The forwarding records a process has read, once per brick: every reader of a store (the
 * read path's sources, verify, thaw) asks the one Relocations of its backend.
 */
export class Relocations {
  private readonly records = new Map<string, Promise<Map<number, MovedChunk> | null>>();

  private constructor(
    private readonly backend: Pick<Backend, 'get'>,
    private readonly dataKey: Buffer,
  ) {}

  private static readonly ofBackend = new WeakMap<object, Relocations>();

  /** The one per backend (and so per process and store). */
  static of(backend: Pick<Backend, 'get'>, dataKey: Buffer): Relocations {
    let r = Relocations.ofBackend.get(backend);
    if (!r) Relocations.ofBackend.set(backend, (r = new Relocations(backend, dataKey)));
    return r;
  }

  /** Brick `hex`'s forwarding record, or null when it has none (it was never repacked). */
  record(hex: string): Promise<Map<number, MovedChunk> | null> {
    let r = this.records.get(hex);
    if (!r) {
      r = this.backend.get(movedKey(hex), { maxLength: MAX_RECORD }).then(
        (bytes) => decodeMoved(this.dataKey, hex, bytes),
        (e: unknown) => {
          if (e instanceof NotFoundError) return null;
          throw e;
        },
      );
      // A failed read (not a missing record) is asked again next time.
      r.catch(() => this.records.delete(hex));
      this.records.set(hex, r);
    }
    return r;
  }

  /** The record already read for `hex`, if it was read and found: a reader goes to the new places at once. */
  known(hex: string): Promise<Map<number, MovedChunk> | null> | undefined {
    return this.records.get(hex);
  }
}

/**
 * Where `chunk` of repacked brick `hex` lies now, per its record. A chunk the record does not
 * list was dead when the brick was repacked (no stored index used it): for its reader the
 * brick is missing, as for a brick pruned whole (src/retention/pruned.ts says which).
 */
export function movedPlace(hex: string, record: ReadonlyMap<number, MovedChunk>, chunk: Pick<BrickChunk, 'offset' | 'storedLength'>): MovedChunk {
  const m = record.get(chunk.offset);
  if (!m || m.storedLength !== chunk.storedLength) {
    throw new NotFoundError(brickKey(hex), `brick ${hex} is missing from the store (it was repacked without its chunk at offset ${chunk.offset}, which no stored index used)`);
  }
  return m;
}
