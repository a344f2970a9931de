/**
 * Numeric header fields: octal text and GNU base-256, both ways. Pure functions on byte ranges;
 * callers decide what an unreadable number means for them.
 */

/**
 * Reads an octal or base-256 number field. Returns undefined when the field holds neither
 * (GNU tar calls that an error too) or the value is not a safe integer.
 */
export function readNumber(block: Buffer, start: number, length: number): number | undefined {
  const first = block[start] ?? 0;
  if (first === 0x80 || first === 0xff) return readBase256(block, start, length);
  return readOctal(block, start, length);
}

// Leading spaces, octal digits, then NUL or space to the end (as GNU tar accepts); empty is 0.
function readOctal(block: Buffer, start: number, length: number): number | undefined {
  const end = start + length;
  let i = start;
  while (i < end && block[i] === 0x20) i++;
  let value = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = block[i] ?? 0;
    if (c < 0x30 || c > 0x37) break;
    value = value * 8 + (c - 0x30);
    digits++;
  }
  for (; i < end; i++) {
    const c = block[i];
    if (c !== 0 && c !== 0x20) return undefined;
  }
  if (digits === 0) return 0;
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * GNU base-256: the first byte's top bit marks it, its next bit is the sign, the rest is a big-endian
 * two's complement number (so 0xff... is negative, and all-0xff is -1, not -0 or off by one).
 */
function readBase256(block: Buffer, start: number, length: number): number | undefined {
  const first = block[start] ?? 0;
  let value = BigInt((first & 0x3f) - (first & 0x40));
  for (let i = start + 1; i < start + length; i++) {
    value = (value << 8n) + BigInt(block[i] ?? 0);
  }
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) return undefined;
  return Number(value);
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
