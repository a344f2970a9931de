/**
 * How dtar shows a name from an archive to a person (listings, warnings, errors): as GNU tar
 * does in a UTF-8 locale (its default "escape" quoting style), so that a name cannot move the
 * cursor, retitle or clear the terminal. Printable UTF-8 stays as it is; a backslash is doubled;
 * \a \b \t \n \v \f \r stand for those controls; every other byte of a control character (C0,
 * DEL, C1), a line or paragraph separator, an unassigned code point or invalid UTF-8 becomes a
 * three-digit octal escape (\033). Machine-readable output (--json) keeps exact names instead,
 * through jsonText.
 */

const C_ESCAPES: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r' };

/** What glibc's iswprint refuses in C.UTF-8 (surrogates cannot come out of a strict decode). */
const UNPRINTABLE = /[\p{Cc}\p{Cn}\p{Zl}\p{Zp}]/u;

/** Nothing to escape: printable ASCII but the backslash. */
const PLAIN = /^[\x20-\x5b\x5d-\x7e]*$/;

function isPlain(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b < 0x20 || b > 0x7e || b === 0x5c) return false;
  }
  return true;
}

function octal(b: number): string {
  return '\\' + b.toString(8).padStart(3, '0');
}

/** Length of the valid UTF-8 sequence at bytes[i], or 0 when it is not one (overlong, surrogate, past U+10FFFF, cut). */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i]!;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => {
    const c = bytes[i + k];
    return c !== undefined && c >= lo && c <= hi;
  };
  if (b >= 0xc2 && b <= 0xdf) return cont(1) ? 2 : 0;
  if (b >= 0xe0 && b <= 0xef) {
    const lo = b === 0xe0 ? 0xa0 : 0x80;
    const hi = b === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    const lo = b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/** A name as it may be printed for people: see the module comment. Bytes are shown exactly; a string is taken as its UTF-8. */
export function escapeName(name: string | Uint8Array): string {
  if (typeof name === 'string' ? PLAIN.test(name) : isPlain(name)) return typeof name === 'string' ? name : Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString('latin1');
  const bytes = typeof name === 'string' ? Buffer.from(name, 'utf8') : name;
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    if (b < 0x80) {
      out += b === 0x5c ? '\\\\' : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : (C_ESCAPES[b] ?? octal(b));
      i++;
      continue;
    }
    const n = sequenceLength(bytes, i);
    const text = n === 0 ? '' : Buffer.from(bytes.buffer, bytes.byteOffset + i, n).toString('utf8');
    if (n === 0 || UNPRINTABLE.test(text)) {
      for (let k = 0; k < Math.max(n, 1); k++) out += octal(bytes[i + k]!);
    } else out += text;
    i += Math.max(n, 1);
  }
  return out;
}

/**
 * escapeName of `bytes`, which the caller also has decoded as UTF-8 (a tar header's path and
 * pathBytes): when the text needs no escape it is the answer, and no string is made per name.
 */
export function escapeDecoded(text: string, bytes: Uint8Array): string {
  return PLAIN.test(text) ? text : escapeName(bytes);
}

/** What JSON.stringify leaves raw that a terminal acts on: DEL, the C1 controls, U+2028 and U+2029. */
const JSON_RAW_CONTROLS = /[\u007f-\u009f\u2028\u2029]/g;

/** JSON.stringify, with those as \u escapes too: a parser reads the same strings, a terminal shows them inert. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value).replace(JSON_RAW_CONTROLS, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}
