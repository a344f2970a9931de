/**
 * Restore against a real store: the original tar byte for byte, and nothing written before
 * the index has been checked whole, though on a local store the read window fills meanwhile.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { BadIndexError } from '../../src/errors';
import { restoreTar } from '../../src/restore/restore';
import { readFixture, ReadFixture } from '../read/fixture';

let f: ReadFixture;
let index: Buffer;

before(async () => {
  f = await readFixture();
  index = await readFile(join(f.s.dir, 'in.idx'));
});

after(async () => {
  await f?.cleanup();
});

test('restore gives back the ingested tar byte for byte', async () => {
  const out: Buffer[] = [];
  const input = {
    where: 'in.idx',
    auth: f.repo.indexAuth,
    open: async function* () {
      yield index;
    },
  };
  const r = await restoreTar(f.repo, input, async (pieces) => void out.push(...pieces.map((p) => Buffer.from(p))));
  const original = await readFile(join(f.s.dir, 'in.tar'));
  assert.equal(r.bytes, original.length);
  assert.ok(Buffer.concat(out).equals(original));
});

test('a check that fails after the window has filled: not a byte written, and its error is the one reported', async () => {
  let opened = 0;
  let writes = 0;
  // The first pass (the check) crawls: a turn of the event loop per 512 bytes, and it fails at
  // the end; the second pass has the index at once, so its window fills and bodies come in
  // long before. Whatever the order, no write may come before the check's verdict.
  const slowCheck = async function* (): AsyncGenerator<Buffer> {
    // Short of the trailer and the end blocks, so the reader is still asking for more.
    const short = index.length - 4096;
    for (let at = 0; at < short; at += 512) {
      yield index.subarray(at, Math.min(at + 512, short));
      await turn();
    }
    throw new BadIndexError('in.idx: the check failed (test)');
  };
  const input = {
    where: 'in.idx',
    auth: f.repo.indexAuth,
    open: (): AsyncIterable<Buffer> =>
      ++opened === 1
        ? slowCheck()
        : (async function* () {
            yield index;
          })(),
  };
  await assert.rejects(
    restoreTar(f.repo, input, async () => void writes++),
    (e: unknown) => e instanceof BadIndexError && /the check failed/.test(e.message),
  );
  assert.equal(opened, 2, 'the second pass started before the check ended');
  assert.equal(writes, 0);
});
