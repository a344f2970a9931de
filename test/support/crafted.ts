/**
 * Hand-made tar archives for hostile-input tests, and two round trips: the real CLI's ingest,
 * ls and restore of a crafted archive; and the extract tests' ingest and extract into
 * box/target, to see what appeared beside target (which must be nothing).
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeHeader, paddingFor, recomputeChecksum } from '../../src/tar/header';
import { dtar } from './dtar';
import { dtar as cli, ok, type DtarResult, type TestStore } from './dtar';

export function file(name: string, body: string): Buffer {
  const data = Buffer.from(body);
  return Buffer.concat([encodeHeader({ name, size: data.length, mode: 0o644, mtime: 1e9 }), data, Buffer.alloc(paddingFor(data.length))]);
}
export const dir = (name: string): Buffer => encodeHeader({ name, typeflag: '5', mode: 0o755, mtime: 1e9 });
export const symlink = (name: string, to: string): Buffer => encodeHeader({ name, typeflag: '2', linkname: to, mode: 0o777 });
export const hardlink = (name: string, to: string): Buffer => encodeHeader({ name, typeflag: '1', linkname: to });
/** Two zero blocks. */
export const END = Buffer.alloc(1024);

/**
 * One PAX record as a writer may lay it out: `length` writes the record's length (which counts
 * the whole record, `lead` blanks included), `gap` goes between it and the key.
 */
export function record(key: string, value: string, length: (n: number) => string = String, gap = ' ', lead = ''): Buffer {
  const rest = lead.length + gap.length + key.length + 1 + value.length + 1;
  for (let n = rest + 1; ; n++) {
    const text = length(n);
    if (text.length + rest === n) return Buffer.from(`${lead}${text}${gap}${key}=${value}\n`, 'latin1');
  }
}

/** An extension header ('x' PAX, 'g' PAX global, 'L' long name...) with `body` as it is, padded. */
export function extension(body: Buffer, typeflag = 'x'): Buffer {
  return Buffer.concat([encodeHeader({ name: 'PaxHeaders/x', typeflag, size: body.length, mode: 0o644 }), body, Buffer.alloc(paddingFor(body.length))]);
}

/** A header block with bytes written over a field and the checksum made right again. */
export function withField(block: Buffer, at: number, bytes: string): Buffer {
  const out = Buffer.from(block);
  Buffer.from(bytes, 'latin1').copy(out, at);
  recomputeChecksum(out);
  return out;
}

export interface Extracted {
  code: number;
  stderr: string;
  box: string;
  target: string;
  /** Names that appeared in box beside target. */
  outside: string[];
}

/** Ingests `members` (plus the end blocks) as an archive in `workdir`, then extracts it into workdir/label/target. */
export async function extractCrafted(env: NodeJS.ProcessEnv, workdir: string, label: string, members: Buffer[]): Promise<Extracted> {
  const tar = join(workdir, `${label}.tar`);
  await writeFile(tar, Buffer.concat([...members, Buffer.alloc(1024)]));
  const index = join(workdir, `${label}.index.tar`);
  const ing = await dtar(['ingest', tar, '-o', index, '--quiet'], { env, inProcess: true });
  assert.equal(ing.code, 0, ing.stderr);
  const box = join(workdir, label);
  const target = join(box, 'target');
  await mkdir(target, { recursive: true });
  const r = await dtar(['extract', index, '-C', target, '--quiet'], { env, inProcess: true });
  return { code: r.code, stderr: r.stderr, box, target, outside: (await readdir(box)).filter((n) => n !== 'target') };
}

export interface RoundTrip {
  /** The index's size in bytes. */
  indexSize: number;
  /** `dtar ls` of the index, one path a line. */
  listed: string[];
  /** What `dtar restore` wrote. */
  restored: Buffer;
}

/** Writes `bytes` to `label`.tar in the dir of `s` and runs the real `dtar ingest` on it (the store must exist). */
export async function ingestCrafted(s: TestStore, label: string, bytes: Buffer): Promise<DtarResult> {
  const tar = join(s.dir, `${label}.tar`);
  await writeFile(tar, bytes);
  return cli(['ingest', tar, '-o', join(s.dir, `${label}.index.tar`), '--quiet'], { env: s.env });
}

/** ingestCrafted, which must succeed, then `dtar ls` and `dtar restore` of the index. */
export async function roundTrip(s: TestStore, label: string, bytes: Buffer): Promise<RoundTrip> {
  ok(await ingestCrafted(s, label, bytes), `ingest of ${label}`);
  const index = join(s.dir, `${label}.index.tar`);
  const out = join(s.dir, `${label}.out.tar`);
  const listed = ok(await cli(['ls', index], { env: s.env }), 'ls').stdout.toString('latin1').split('\n').filter((l) => l !== '');
  ok(await cli(['restore', index, '-o', out, '--quiet'], { env: s.env }), 'restore');
  return { indexSize: (await readFile(index)).length, listed, restored: await readFile(out) };
}
