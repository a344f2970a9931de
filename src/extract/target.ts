/**
 * The extraction directory and the one rule that keeps an archive inside it: a member path
 * is split into components, a leading "/" is dropped (as GNU tar does), a ".." component is
 * refused, and every directory on the way down is checked with lstat: a symbolic link there,
 * whether the archive created it earlier or it was already in DIR, is refused, so nothing is
 * ever written through one. Paths stay bytes: member names need not be UTF-8. The checks are
 * synchronous system calls: a few microseconds each, where a promise's round trip through
 * Node's thread pool cost tens. A directory checked or made is not checked again for every
 * file below it, until the extraction removes or replaces something there (forget()).
 */
import { lstatSync, mkdirSync } from 'node:fs';
import { escapeName, UnsafePathError } from '../errors';

const SLASH = 0x2f;

export interface Placement {
  /** The member's path as shown in messages (escaped). */
  display: string;
  /** Components below DIR; empty for DIR itself. */
  components: Buffer[];
  /** Absolute path of the member in DIR. */
  full: Buffer;
}

function split(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === SLASH) {
      if (i > start) out.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  return out;
}

const SLASH_BYTES = Buffer.from('/');

function joined(components: readonly Buffer[]): Buffer {
  return Buffer.concat(components.flatMap((c, i) => (i === 0 ? [c] : [SLASH_BYTES, c])));
}

function isDot(c: Buffer, dots: number): boolean {
  return c.length === dots && c.every((b) => b === 0x2e);
}

export class TargetDir {
  private readonly rootBytes: Buffer;
  /** Set when a member had a leading "/" that was dropped. */
  strippedAbsolute = false;
  /** Directories below DIR found real or made by this extraction (full paths, as latin1). */
  private readonly checked = new Set<string>();

  constructor(readonly root: string) {
    this.rootBytes = Buffer.from(root);
  }

  /** Where a member goes; throws UnsafePathError for a ".." component. */
  place(pathBytes: Buffer): Placement {
    const display = escapeName(pathBytes);
    if (pathBytes[0] === SLASH) this.strippedAbsolute = true;
    const components: Buffer[] = [];
    for (const c of split(pathBytes)) {
      if (isDot(c, 1)) continue;
      if (isDot(c, 2)) throw new UnsafePathError(display, 'it has a ".." component and would land outside the target directory');
      components.push(c);
    }
    return { display, components, full: this.pathOf(components, components.length) };
  }

  /** The absolute path of the first n components. */
  private pathOf(components: readonly Buffer[], n: number): Buffer {
    return n === 0 ? this.rootBytes : Buffer.concat([this.rootBytes, SLASH_BYTES, joined(components.slice(0, n))]);
  }

  /**
   * Makes sure every parent of the member is a real directory inside DIR (creating missing
   * ones), refusing a symbolic link or a non-directory on the way. Without `create`, every
   * parent is checked again, none is made.
   */
  prepareParents(p: Placement, create = true): void {
    for (let i = 1; i < p.components.length; i++) {
      const dir = this.pathOf(p.components, i);
      const key = dir.toString('latin1');
      if (create && this.checked.has(key)) continue;
      const st = lstatSync(dir, { throwIfNoEntry: !create });
      if (!st) {
        mkdirSync(dir, { mode: 0o777 });
      } else {
        const rel = escapeName(joined(p.components.slice(0, i)));
        if (st.isSymbolicLink()) throw new UnsafePathError(p.display, `it would be written through the symbolic link ${rel}`);
        if (!st.isDirectory()) throw new UnsafePathError(p.display, `${rel} is not a directory`);
      }
      this.checked.add(key);
    }
  }

  /** What was at `full` is gone or replaced: it, and any directory below it, is checked again when next used. */
  forget(full: Buffer): void {
    const key = full.toString('latin1');
    for (const k of this.checked) if (k === key || k.startsWith(`${key}/`)) this.checked.delete(k);
  }
}
