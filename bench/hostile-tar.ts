/**
 * Issue 20's hostile PAX headers, written to a file for timing the tar reader on them
 * (bench/README.md): `globals`, one global header of 300,000 records before 100 small files;
 * `records`, one extended header of 1,000,000 six-byte records ("6 c=v\n") before a small file.
 * Usage: node dist/bench/hostile-tar.js globals|records OUT.tar
 */
import { writeFileSync } from 'node:fs';
import { encodeHeader, paddingFor, paxHeaderBlocks } from '../src/tar/header';

function file(name: string, body: string): Buffer {
  const data = Buffer.from(body);
  return Buffer.concat([encodeHeader({ name, size: data.length, mode: 0o644, mtime: 1e9 }), data, Buffer.alloc(paddingFor(data.length))]);
}

/** `count` records with keys no tar interprets (GNU tar warns about them and goes on); `distinct` or all the same. */
function records(count: number, distinct: boolean): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  for (let i = 0; i < count; i++) out.push([distinct ? `k${i.toString(36)}` : 'c', Buffer.from('v')]);
  return out;
}

function archive(kind: string): Buffer {
  const parts: Buffer[] = [];
  if (kind === 'globals') {
    parts.push(paxHeaderBlocks(records(300_000, true), 'pax_global_header', 'g'));
    for (let i = 0; i < 100; i++) parts.push(file(`f${i}`, `file ${i}\n`));
  } else if (kind === 'records') {
    parts.push(paxHeaderBlocks(records(1_000_000, false), 'PaxHeaders/f'), file('f', 'data\n'));
  } else {
    throw new Error('usage: node dist/bench/hostile-tar.js globals|records OUT.tar');
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

const [kind = '', out] = process.argv.slice(2);
if (!out) throw new Error('usage: node dist/bench/hostile-tar.js globals|records OUT.tar');
writeFileSync(out, archive(kind));
