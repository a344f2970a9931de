/**
 * How `dtar ls` shows an entry: its path; with -l the columns of `tar tvf` (mode string,
 * owner/group, real size or device numbers, local date and time, link target); names escaped
 * as GNU tar prints them. With --json one object per line, names exact.
 */
import { isUtf8 } from 'node:buffer';
import { escapeDecoded, escapeName } from '../errors';
import type { IndexEntry } from '../index/reader';
import { contentSize } from '../index/reader';
import type { EntryType } from '../tar/types';

const TYPE_CHAR: Partial<Record<EntryType, string>> = {
  directory: 'd',
  symlink: 'l',
  hardlink: 'h',
  chardev: 'c',
  blockdev: 'b',
  fifo: 'p',
  contiguous: 'C',
};

export function modeString(type: EntryType, mode: number): string {
  const bit = (m: number, c: string): string => (mode & m ? c : '-');
  const exec = (x: number, s: number, set: string): string => (mode & s ? (mode & x ? set : set.toUpperCase()) : mode & x ? 'x' : '-');
  return (
    (TYPE_CHAR[type] ?? '-') +
    bit(0o400, 'r') + bit(0o200, 'w') + exec(0o100, 0o4000, 's') +
    bit(0o040, 'r') + bit(0o020, 'w') + exec(0o010, 0o2000, 's') +
    bit(0o004, 'r') + bit(0o002, 'w') + exec(0o001, 0o1000, 't')
  );
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** Local date and minute, as `tar tvf` prints them. */
export function localTime(seconds: number): string {
  const d = new Date(Math.floor(seconds) * 1000);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

/** The size column: real size, or "major,minor" for devices. */
function sizeColumn(e: IndexEntry): string {
  const h = e.header;
  if (h.type === 'chardev' || h.type === 'blockdev') return `${h.devmajor},${h.devminor}`;
  return String(contentSize(e));
}

function owner(name: string, id: number): string {
  return name !== '' ? escapeName(name) : String(id);
}

export function longLine(e: IndexEntry): string {
  const h = e.header;
  let line = `${modeString(h.type, h.mode)} ${owner(h.uname, h.uid)}/${owner(h.gname, h.gid)} ${sizeColumn(e).padStart(9)} ${localTime(h.mtime)} ${escapeDecoded(h.path, h.pathBytes)}`;
  if (h.type === 'symlink') line += ` -> ${escapeDecoded(h.linkpath, h.linkpathBytes)}`;
  else if (h.type === 'hardlink') line += ` link to ${escapeDecoded(h.linkpath, h.linkpathBytes)}`;
  return line;
}

export interface EntryJson {
  /** The name as text; where it is not UTF-8, invalid bytes are U+FFFD here and pathBase64 has it exactly. */
  path: string;
  pathBase64?: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Real size of the contents (sparse files expanded). */
  size: number;
  /** ISO 8601, UTC. */
  mtime: string;
  linkpath?: string;
  linkpathBase64?: string;
  devmajor?: number;
  devminor?: number;
  sparse?: boolean;
}

/** A name's base64, for JSON, when its text (invalid UTF-8 replaced) does not say it exactly. */
function exactBytes(bytes: Buffer): string | undefined {
  return isUtf8(bytes) ? undefined : bytes.toString('base64');
}

/** A member's path for JSON: `path` as text, and `pathBase64` too when that text is not exact. */
export function pathJson(bytes: Buffer): { path: string; pathBase64?: string } {
  const base64 = exactBytes(bytes);
  return base64 === undefined ? { path: bytes.toString('utf8') } : { path: bytes.toString('utf8'), pathBase64: base64 };
}

export function entryJson(e: IndexEntry): EntryJson {
  const h = e.header;
  const out: EntryJson = {
    ...pathJson(h.pathBytes),
    type: h.type,
    mode: h.mode & 0o7777,
    uid: h.uid,
    gid: h.gid,
    uname: h.uname,
    gname: h.gname,
    size: contentSize(e),
    mtime: new Date(h.mtime * 1000).toISOString(),
  };
  if (h.type === 'symlink' || h.type === 'hardlink') {
    out.linkpath = h.linkpath;
    out.linkpathBase64 = exactBytes(h.linkpathBytes);
  }
  if (h.type === 'chardev' || h.type === 'blockdev') {
    out.devmajor = h.devmajor;
    out.devminor = h.devminor;
  }
  if (e.record?.sparse) out.sparse = true;
  return out;
}
