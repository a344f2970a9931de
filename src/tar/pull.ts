/**
 * Sources that answer next() without a promise when they can (the tar walker, the index
 * reader), and the two ways to drain one: as an async generator, or into a callback, which
 * skips the generator's await per item. Both close the source however they end.
 */
export interface Pullable<T> {
  /** The next item, or null when there are no more. */
  next(): T | null | Promise<T | null>;
  close(): Promise<void>;
}

/** The source's items as an async generator; `open` runs when the first item is asked for. */
export async function* pulled<T>(open: () => Pullable<T>): AsyncGenerator<T> {
  const source = open();
  try {
    for (;;) {
      const next = source.next();
      const item = next instanceof Promise ? await next : next;
      if (item === null) return;
      yield item;
    }
  } finally {
    await source.close();
  }
}

export async function visitAll<T>(source: Pullable<T>, visit: (item: T) => void): Promise<void> {
  try {
    for (;;) {
      const next = source.next();
      const item = next instanceof Promise ? await next : next;
      if (item === null) return;
      visit(item);
    }
  } finally {
    await source.close();
  }
}

/** The source's items through `map`, those it maps to undefined left out; no promise where the source gives none. */
export function mapPulled<T, U>(source: Pullable<T>, map: (item: T) => U | undefined): Pullable<U> {
  const step = (item: T | null): U | null | Promise<U | null> => {
    for (;;) {
      if (item === null) return null;
      const out = map(item);
      if (out !== undefined) return out;
      const next = source.next();
      if (next instanceof Promise) return next.then(step);
      item = next;
    }
  };
  return {
    next: () => {
      const next = source.next();
      return next instanceof Promise ? next.then(step) : step(next);
    },
    close: () => source.close(),
  };
}

/** The items of an array as a source. */
export function pullArray<T>(items: readonly T[]): Pullable<T> {
  let i = 0;
  return { next: () => (i < items.length ? items[i++]! : null), close: () => Promise.resolve() };
}
