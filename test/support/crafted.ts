/**
 * Hand-made tar archives for hostile-input tests, and the round trip the extract tests need:
 * ingest a crafted archive into a store, extract it into box/target, and see what appeared
 * beside target (which must be nothing).
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeHeader, paddingFor } from '../../src/tar/header';
import { dtar } from '../commands/harness';

export function file(name: string, body: string): Buffer {
  const data = Buffer.from(body);
  return Buffer.concat([encodeHeader({ name, size: data.length, mode: 0o644, mtime: 1e9 }), data, Buffer.alloc(paddingFor(data.length))]);
}
export const dir = (name: string): Buffer => encodeHeader({ name, typeflag: '5', mode: 0o755, mtime: 1e9 });
export const symlink = (name: string, to: string): Buffer => encodeHeader({ name, typeflag: '2', linkname: to, mode: 0o777 });
export const hardlink = (name: string, to: string): Buffer => encodeHeader({ name, typeflag: '1', linkname: to });

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
  const ing = await dtar(env, 'ingest', tar, '-o', index, '--quiet');
  assert.equal(ing.code, 0, ing.stderr);
  const box = join(workdir, label);
  const target = join(box, 'target');
  await mkdir(target, { recursive: true });
  const r = await dtar(env, 'extract', index, '-C', target, '--quiet');
  return { code: r.code, stderr: r.stderr, box, target, outside: (await readdir(box)).filter((n) => n !== 'target') };
}
