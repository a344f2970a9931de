/**
 * A brick from the store, for every reader of bricks (the read path, verify's brick copies):
 * the store's errors name the brick; callers add the file.
 */
import { NotFoundError } from '../errors';
import type { Backend, ByteRange, WholeObject } from '../store/backend';
import { brickKey } from './format';

/**
 * Brick `hex`, whole (no longer than its known size) or the range asked for, possibly read
 * into `into` (see Backend.get). A range reaching past the brick's end yields the bytes there
 * are: the chunks cut short are the reader's to report, so that the damage stays with the
 * chunks it really hit.
 */
export async function readBrick(backend: Pick<Backend, 'get'>, hex: string, want: ByteRange | WholeObject, into?: Buffer): Promise<Buffer> {
  const key = brickKey(hex);
  try {
    return await backend.get(key, want, into);
  } catch (e) {
    if (e instanceof NotFoundError) throw new NotFoundError(key, `brick ${hex} is missing from the store`);
    throw e;
  }
}
