/**
 * Numbers in tar headers: header fields (octal text and GNU base-256, both ways; GNU tar's old
 * base-64 read) and the decimal numbers of PAX records. Pure functions; callers decide what an
 * unreadable number means for them.
 */

/** C's isspace in the C locale: space, \t, \n, \v, \f, \r. */
function isSpace(c: number | undefined): boolean {
  return c === 0x20 || (c !== undefined && c >= 0x09 && c <= 0x0d);
}

/**
 * Reads a numeric header field the way GNU tar does (from_header in its list.c): one leading
 * NUL is skipped (old tars left one when the field before overflowed), then blanks; then octal
 * digits, GNU base-256 (first byte 0x80 or 0xff) or the base-64 of tar 1.13.6-1.13.11 ('+' or
 * '-'); the byte after the number must be NUL, a blank or the field's end, and what follows
 * it is not looked at. An empty field is 0. Returns undefined when GNU tar would call the
 * field invalid, or the value is not a safe integer.
 */
export function readNumber(block: Buffer, start: number, length: number): number | undefined {
  const end = start + length;
  let i = start;
  if (block[i] === 0) i++;
  while (i < end && isSpace(block[i])) i++;
  const first = block[i];
  if (first === 0x80 || first === 0xff) return readBase256(block, i, end);
  let value = 0;
  if (first === 0x2b || first === 0x2d) {
    const read = readBase64(block, i + 1, end);
    if (read === undefined) return undefined;
    value = first === 0x2d ? -read.value : read.value;
    i = read.next;
  } else {
    for (; i < end; i++) {
      const c = block[i]!;
      if (c < 0x30 || c > 0x37) break;
      value = value * 8 + (c - 0x30);
    }
  }
  if (i < end && block[i] !== 0 && !isSpace(block[i])) return undefined;
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * GNU base-256: the first byte's top bit marks it, its next bit is the sign, the rest is a big-endian
 * two's complement number (so 0xff... is negative, and all-0xff is -1, not -0 or off by one).
 */
function readBase256(block: Buffer, start: number, end: number): number | undefined {
  const first = block[start] ?? 0;
  let value = BigInt((first & 0x3f) - (first & 0x40));
  for (let i = start + 1; i < end; i++) {
    value = (value << 8n) + BigInt(block[i] ?? 0);
  }
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) return undefined;
  return Number(value);
}

const BASE64_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** The base-64 digits from `start` (GNU tar still reads them, with a warning); stops at the first other byte. */
function readBase64(block: Buffer, start: number, end: number): { value: number; next: number } | undefined {
  let value = 0;
  let i = start;
  for (; i < end; i++) {
    const digit = BASE64_DIGITS.indexOf(String.fromCharCode(block[i]!));
    if (digit === -1) break;
    value = value * 64 + digit;
    if (!Number.isSafeInteger(value)) return undefined;
  }
  return { value, next: i };
}

/**
 * A decimal number of a PAX record (size, uid, GNU.sparse.*): ASCII digits only, as many
 * leading zeros as the writer liked (GNU tar reads them with strtoumax); undefined for
 * anything else or a value past the safe integers. Stops at the first digit too many.
 */
export function readDecimal(text: string): number | undefined {
  if (text.length === 0) return undefined;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
    value = value * 10 + (c - 0x30);
    if (value > Number.MAX_SAFE_INTEGER) return undefined;
  }
  return value;
}

/**
 * Writes `value` into a field of `length` bytes: octal with a NUL terminator when it fits
 * (length-1 digits), base-256 otherwise (negative numbers and values of 8 GiB and more).
 */
export function writeNumber(block: Buffer, start: number, length: number, value: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`tar number field: ${value} is not a safe integer`);
  if (value >= 0 && value < 8 ** (length - 1)) {
    const text = value.toString(8).padStart(length - 1, '0');
    block.write(text, start, length - 1, 'latin1');
    block[start + length - 1] = 0;
    return;
  }
  let v = BigInt(value);
  const limit = 1n << BigInt(8 * (length - 1));
  if (v >= limit || v < -limit) throw new RangeError(`tar number field: ${value} does not fit in ${length} bytes`);
  for (let i = start + length - 1; i > start; i--) {
    block[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  block[start] = value < 0 ? 0xff : 0x80;
}
