/**
 * Which archive members a command's PATH arguments name. Members and arguments are compared
 * without leading "./" or "/" and trailing "/", so `etc/passwd` finds `./etc/passwd`; a
 * directory selects everything below it.
 */
import { escapeName, UsageError } from '../errors';

/** A member path as compared: no leading "./" or "/", no empty or "." components, no trailing "/". */
export function memberKey(path: string): string {
  return path
    .split('/')
    .filter((c) => c !== '' && c !== '.')
    .join('/');
}

export class Selection {
  private readonly keys: string[];
  private readonly used = new Set<string>();

  constructor(private readonly given: readonly string[]) {
    this.keys = given.map(memberKey);
  }

  get all(): boolean {
    return this.keys.length === 0 || this.keys.includes('');
  }

  /** Whether an argument selects `path`; `record` counts the argument as used (see unmatched()). */
  matches(path: string, record = true): boolean {
    if (this.all) return true;
    const k = memberKey(path);
    for (const key of this.keys) {
      if (k === key || k.startsWith(key + '/')) {
        if (record) this.used.add(key);
        return true;
      }
    }
    return false;
  }

  /** The arguments that matched no member, as given. */
  unmatched(): string[] {
    return this.given.filter((_, i) => this.keys[i] !== '' && !this.used.has(this.keys[i]!));
  }
}

/** The error for PATH arguments that matched no member. */
export function notInArchive(paths: readonly string[]): UsageError {
  return new UsageError(`not in the archive: ${paths.map(escapeName).join(', ')}`);
}
