/**
 * Object keys and byte ranges: the one place that decides which keys are legal, so that a key
 * valid on one backend is valid on every other. Keys are '/'-separated relative paths made of
 * non-empty segments; they must map onto a file path without escaping the store directory.
 */
import type { ByteRange, WholeObject } from './backend';

/** Local backends write partial objects under this name prefix; no key segment may use it. */
export const TEMP_PREFIX = '.tmp-';

/** Throws a RangeError (a programming error, not a user error) for an illegal key. */
export function validateKey(key: string): void {
  const problem = keyProblem(key);
  if (problem) throw new RangeError(`invalid store key ${JSON.stringify(key)}: ${problem}`);
}

/** A list() prefix: like a key, but may be empty or end with '/'. */
export function validatePrefix(prefix: string): void {
  if (prefix === '') return;
  const problem = keyProblem(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  if (problem) throw new RangeError(`invalid store prefix ${JSON.stringify(prefix)}: ${problem}`);
}

/** What a get() asks for, checked; the range, or null for a whole object. */
export function rangeOf(want: ByteRange | WholeObject): ByteRange | null {
  if (!('offset' in want)) {
    if (!Number.isSafeInteger(want.maxLength) || want.maxLength < 0) throw new RangeError(`invalid object length bound ${want.maxLength}`);
    return null;
  }
  if (!Number.isSafeInteger(want.offset) || want.offset < 0 || !Number.isSafeInteger(want.length) || want.length < 0) {
    throw new RangeError(`invalid byte range offset=${want.offset} length=${want.length}`);
  }
  return want;
}

/** The most bytes a get() may hold. */
export function lengthBound(want: ByteRange | WholeObject): number {
  return 'offset' in want ? want.length : want.maxLength;
}

function keyProblem(key: string): string | null {
  if (key === '') return 'empty';
  if (key.startsWith('/')) return 'absolute';
  if (key.includes('\0')) return 'contains NUL';
  if (key.includes('\\')) return 'contains a backslash';
  for (const segment of key.split('/')) {
    if (segment === '') return 'empty segment';
    if (segment === '.' || segment === '..') return `'${segment}' segment`;
    if (segment.startsWith(TEMP_PREFIX)) return `segment starts with ${TEMP_PREFIX}`;
  }
  return null;
}
