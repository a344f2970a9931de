/**
 * Rewriting an index tar as someone without the store's key would (issue 20 §1): changes
 * to entries, with the tar header checksum, the record's saved fields and the trailer's
 * SHA-256 recomputed, and the old MAC kept (or, given the key, a new one).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { encodeMeta, globalHeader, IndexMeta, parseMeta, parseTrailer } from '../../src/index/meta';
import { indexMac } from '../../src/index/seal';
import { recomputeChecksum } from '../../src/tar/header';
import { readTar } from '../../src/tar/reader';

export interface Parsed {
  meta: IndexMeta;
  /** Where the index's own header (its first global header) ends. */
  metaEnd: number;
  /** Offset of the trailer's header: everything before it is what indexSha256 covers. */
  trailerAt: number;
  trailerBin: Buffer;
  /** Entries with a body: offset of their main header and of their record, and the record's length. */
  files: { path: string; header: number; record: number; length: number }[];
}

export async function parseIndex(index: Buffer): Promise<Parsed> {
  let meta: IndexMeta | null = null;
  let metaEnd = -1;
  let trailerAt = -1;
  let trailerBin: Buffer | null = null;
  const files: Parsed['files'] = [];
  for await (const item of readTar(Readable.from([index]))) {
    if (item.kind === 'global') {
      if (!meta) {
        meta = parseMeta(item.records);
        metaEnd = item.offset + item.raw.length;
      }
      const t = meta && parseTrailer(item.records, meta.tag);
      if (t) {
        trailerAt = item.offset;
        trailerBin = Buffer.from(item.records.get('comment')!.toString('latin1').split(' ')[2]!, 'base64');
      }
    } else if (item.kind === 'entry' && item.bodySize > 0) {
      files.push({ path: item.header.path, header: item.offset + item.mainHeaderOffset, record: item.offset + item.raw.length, length: item.bodySize });
    }
  }
  assert.ok(meta && trailerBin && trailerAt > 0);
  return { meta, metaEnd, trailerAt, trailerBin, files };
}

/**
 * The index with `body` (the bytes before the trailer) in place of its own, and a trailer
 * whose SHA-256 is recomputed. Without `macKey`, as an attacker: the old MAC is kept.
 */
export function reseal(p: Parsed, body: Buffer, macKey?: Buffer): Buffer {
  const macLength = p.meta.version === 1 ? 0 : 32;
  const covered = Buffer.from(p.trailerBin.subarray(0, p.trailerBin.length - macLength));
  createHash('sha256').update(body).digest().copy(covered, covered.length - 32);
  const mac = macKey ? indexMac(macKey, covered) : p.trailerBin.subarray(covered.length);
  const bin = Buffer.concat([covered, mac]);
  return Buffer.concat([body, globalHeader('dtar-trailer', Buffer.from(`dtar-trailer ${p.meta.tag} ${bin.toString('base64')}`)), Buffer.alloc(1024)]);
}

/** The first file made setuid: its mode, its header checksum and the record's saved checksum field. */
export function setuidFirst(index: Buffer, p: Parsed): Buffer {
  const body = Buffer.from(index.subarray(0, p.trailerAt));
  const f = p.files[0]!;
  const header = body.subarray(f.header, f.header + 512);
  const mode = parseInt(header.subarray(100, 108).toString('latin1'), 8) | 0o4000;
  header.write(mode.toString(8).padStart(7, '0') + '\0', 100, 'latin1');
  recomputeChecksum(header);
  // The record keeps the original's size and checksum fields (mode 1): the original header is made setuid too.
  const record = body.subarray(f.record, f.record + f.length);
  assert.equal(record.subarray(0, 5).toString('latin1'), 'DTR1\x01', 'a patched record');
  const original = Buffer.from(header);
  record.copy(original, 124, 5, 17);
  recomputeChecksum(original);
  original.copy(record, 17, 148, 156);
  return body;
}

/** Two files of the same size: their stored bodies (SHA-256 and chunk list) swapped. */
export function swapContents(index: Buffer, p: Parsed, a: string, b: string): Buffer {
  const body = Buffer.from(index.subarray(0, p.trailerAt));
  const [fa, fb] = [a, b].map((n) => p.files.find((f) => f.path === n)!);
  const tail = (f: typeof fa): Buffer => body.subarray(f!.record + 25, f!.record + f!.length);
  const ta = Buffer.from(tail(fa));
  assert.equal(ta.length, tail(fb).length);
  tail(fb).copy(body, fa!.record + 25);
  ta.copy(body, fb!.record + 25);
  return body;
}


/** The bytes before the trailer, with the header naming another sealer. */
export function withSealer(index: Buffer, p: Parsed, sealer: string): Buffer {
  return Buffer.concat([encodeMeta({ ...p.meta, sealer }), index.subarray(p.metaEnd, p.trailerAt)]);
}
