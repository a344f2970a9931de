/**
 * Append-only packed storage for the archive view: growable typed arrays for per-entry
 * numbers and one byte arena for names and link targets. A mounted index keeps its
 * metadata here instead of in one JS object per entry, which is what keeps it compact.
 */

type TypedArray = Uint8Array | Uint16Array | Uint32Array | Float64Array;

interface TypedArrayCtor<T extends TypedArray> {
  new (length: number): T;
}

/**
 * Whether a table of `length` elements is kept as a view of its `capacity`-element array
 * rather than copied out: when nearly all of it is used (as when it was sized ahead from the
 * index's entry count), a copy would only add one more table's worth of garbage to the load.
 */
export function keepAsView(length: number, capacity: number): boolean {
  return length * 8 >= capacity * 7;
}

/** A typed array that grows by doubling while the index loads (unless sized ahead); `seal()` trims it. */
export class Growable<T extends TypedArray> {
  private data: T;
  length = 0;

  constructor(
    private readonly ctor: TypedArrayCtor<T>,
    initial = 1024,
  ) {
    this.data = new ctor(initial);
  }

  push(v: number): number {
    if (this.length === this.data.length) this.grow(this.length * 2);
    this.data[this.length] = v;
    return this.length++;
  }

  get(i: number): number {
    return this.data[i]!;
  }

  set(i: number, v: number): void {
    this.data[i] = v;
  }

  /** Makes room for `n` elements in all, before anything is pushed. */
  reserve(n: number): void {
    if (this.length === 0 && n > this.data.length) this.data = new this.ctor(n);
  }

  private grow(size: number): void {
    const next = new this.ctor(Math.max(size, 16));
    next.set(this.data);
    this.data = next;
  }

  /** The filled part: a view when nearly full (keepAsView), else a copy, so that the oversized array can be freed. */
  seal(): T {
    return (keepAsView(this.length, this.data.length) ? this.data.subarray(0, this.length) : this.data.slice(0, this.length)) as T;
  }
}

/** Bytes appended back to back; callers keep (offset, length) pairs. */
export class ByteArena {
  private data = Buffer.allocUnsafe(64 * 1024);
  length = 0;

  append(bytes: Uint8Array): number {
    this.room(bytes.length);
    this.data.set(bytes, this.length);
    const at = this.length;
    this.length += bytes.length;
    return at;
  }

  /** Appends bytes [from, to) of `buf`, without a view of them (names are short: a loop costs less than a native copy). */
  appendRange(buf: Uint8Array, from: number, to: number): number {
    this.room(to - from);
    const at = this.length;
    const data = this.data;
    for (let i = from, o = at; i < to; i++, o++) data[o] = buf[i]!;
    this.length += to - from;
    return at;
  }

  /** Whether the bytes from `at` are buf[from, to). */
  matches(at: number, buf: Uint8Array, from: number, to: number): boolean {
    const data = this.data;
    for (let i = from, o = at; i < to; i++, o++) if (data[o] !== buf[i]) return false;
    return true;
  }

  private room(n: number): void {
    if (this.length + n <= this.data.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.data.length * 2, this.length + n));
    this.data.copy(next, 0, 0, this.length);
    this.data = next;
  }

  seal(): Buffer {
    return Buffer.from(this.data.subarray(0, this.length));
  }
}
