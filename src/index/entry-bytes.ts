/**
 * How one original tar entry with a body becomes index bytes, and back.
 * - "patched": the original header blocks, byte for byte, with only the main header's size
 *   (now the record's length) and checksum changed; the record keeps the two old fields.
 * - "raw": for sparse entries and PAX-sized bodies, whose extension headers describe the
 *   old body: a fresh PAX header (path, link, carried-over records, size) and a plain
 *   regular-file main header; the record keeps every original header byte.
 * Entries without a body are copied into the index unchanged and need no record.
 */
import { isUtf8 } from 'node:buffer';
import { BLOCK, paddingFor, paxHeaderBlocks, setSizeField, zeroPadding } from '../tar/header';
import type { TarEntry } from '../tar/types';
import { BadIndexError } from '../errors';
import { BodyRecord, BodyRef, CHUNK_ENTRY, CHUNK_LIST_HEAD, encodeRecord, HeaderRestore, MODE_PATCHED, MODE_RAW } from './record';

const DROPPED_PAX = /^(size|path|linkpath|hdrcharset|GNU\.sparse\..*)$/;

function chunkListLength(body: BodyRef): number {
  return CHUNK_LIST_HEAD + body.chunks.length * CHUNK_ENTRY;
}

function nonZero(b: Buffer): boolean {
  for (const x of b) if (x !== 0) return true;
  return false;
}

/**
 * The index bytes for an entry whose body was stored as `body`, and where in them the
 * record's chunk list starts (so that chunk places can be filled in later).
 */
export function indexBytesFor(entry: TarEntry, body: BodyRef, padding: Buffer): { bytes: Buffer; chunkListAt: number } {
  const h = entry.header;
  const main = Buffer.from(entry.raw.subarray(entry.mainHeaderOffset, entry.mainHeaderOffset + BLOCK));
  const usePatch = !h.sparse && !entry.paxSize;
  let restore: HeaderRestore;
  if (usePatch) restore = { mode: MODE_PATCHED, sizeField: Buffer.from(main.subarray(124, 136)), chksumField: Buffer.from(main.subarray(148, 156)) };
  else restore = { mode: MODE_RAW, raw: entry.raw };
  const record: BodyRecord = { header: restore, body, padding: nonZero(padding) ? padding : null, sparse: h.sparse ?? null };
  const rec = encodeRecord(record);
  const recPad = Buffer.alloc(paddingFor(rec.length));
  if (usePatch) {
    const headers = Buffer.from(entry.raw);
    setSizeField(headers.subarray(entry.mainHeaderOffset, entry.mainHeaderOffset + BLOCK), rec.length);
    return { bytes: Buffer.concat([headers, rec, recPad]), chunkListAt: headers.length + rec.length - chunkListLength(body) };
  }
  const records: [string, Buffer][] = [];
  const binary = !isUtf8(h.pathBytes) || !isUtf8(h.linkpathBytes);
  if (binary) records.push(['hdrcharset', Buffer.from('BINARY')]);
  records.push(['path', h.pathBytes]);
  if (h.linkpathBytes.length > 0) records.push(['linkpath', h.linkpathBytes]);
  // Its own records only: the global headers in force are copied into the index in their places.
  for (const [k, v] of h.localPax) if (!DROPPED_PAX.test(k)) records.push([k, v]);
  records.push(['size', Buffer.from(String(rec.length))]);
  if (main[156] === 0x53 /* 'S' */) {
    main[156] = 0x30;
    main.fill(0, 386, 495);
  }
  setSizeField(main, rec.length);
  const pax = paxHeaderBlocks(records, 'PaxHeaders.dtar/entry');
  return { bytes: Buffer.concat([pax, main, rec, recPad]), chunkListAt: pax.length + BLOCK + rec.length - chunkListLength(body) };
}

/** The original header bytes of an entry, from its index form and record. */
export function originalHeaderBytes(indexRaw: Buffer, mainHeaderOffset: number, restore: HeaderRestore): Buffer {
  if (restore.mode === MODE_RAW) return restore.raw;
  const out = Buffer.from(indexRaw);
  if (mainHeaderOffset + BLOCK > out.length) throw new BadIndexError('index entry header out of range');
  restore.sizeField.copy(out, mainHeaderOffset + 124);
  restore.chksumField.copy(out, mainHeaderOffset + 148);
  return out;
}


/** The original padding after a body of `storedSize` bytes. */
export function originalPadding(record: BodyRecord): Buffer {
  return record.padding ?? zeroPadding(paddingFor(record.body.storedSize));
}
