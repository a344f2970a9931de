/**
 * Bodies in order through the read-ahead window (BodyStream), against a real store: every
 * job in order, its bytes as ingested, however small the window; a chunk repeated within the
 * window fetched once; the chunks of many files asked for in few batches by brick; buffers
 * given back reused, never while the consumer holds them; a body that does not match its
 * checksum fails alone, and a failure of the jobs comes after the jobs before it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CorruptDataError } from '../../src/errors';
import type { BodyRef } from '../../src/index/record';
import { BodyJob, BodyStream } from '../../src/read/bodies';
import { BufferPool } from '../../src/read/buffer-pool';
import { ChunkSource } from '../../src/read/chunks';
import { pullArray, Pullable } from '../../src/tar/pull';
import { readFixture, ReadFixture } from './fixture';

let f: ReadFixture;

before(async () => {
  f = await readFixture();
});

after(async () => {
  await f?.cleanup();
});

interface Counted {
  source: ChunkSource;
  /** Chunks asked for, and in how many calls. */
  chunks: number;
  calls: number;
}

function counted(options: { plaintexts?: BufferPool } = {}): Counted {
  const source = new ChunkSource(f.repo.backend, f.repo.keys, { parallel: 4, threads: 2, ...options });
  const c: Counted = { source, chunks: 0, calls: 0 };
  const fetchEach = source.fetchEach.bind(source);
  source.fetchEach = (hex, chunks) => {
    c.calls++;
    c.chunks += chunks.length;
    return fetchEach(hex, chunks);
  };
  return c;
}

/** Reads every job to its end; the bytes of each body (copied), and the values in order. */
async function drain<T>(stream: BodyStream<T>, release = true): Promise<{ values: T[]; bodies: Buffer[] }> {
  const values: T[] = [];
  const bodies: Buffer[] = [];
  for (let v = await stream.next(); v !== null; v = await stream.next()) {
    values.push(v);
    const parts: Buffer[] = [];
    for (let d = await stream.read(); d; d = await stream.read()) parts.push(Buffer.from(d));
    bodies.push(Buffer.concat(parts));
    if (release) stream.release();
  }
  return { values, bodies };
}

const jobs = (): BodyJob<number>[] => f.files.map((file, i) => ({ value: i, body: file.body, path: file.path }));

test('every body comes out in order as ingested, with jobs without a body in their place, whatever the window', async () => {
  for (const window of [256 * 1024, 32 * 1024 * 1024]) {
    const list: BodyJob<number>[] = [];
    jobs().forEach((j, i) => list.push(j, { value: -1 - i, body: null, path: `none${i}` }));
    const c = counted();
    const got = await drain(new BodyStream(c.source, pullArray(list), window));
    await c.source.close();
    assert.deepEqual(
      got.values,
      list.map((j) => j.value),
    );
    got.bodies.forEach((b, k) => assert.ok(b.equals(list[k]!.body ? f.files[list[k]!.value]!.data : Buffer.alloc(0)), `job ${k}, window ${window}`));
  }
});

test('a chunk repeated within the window is fetched once, and many files come in few batches', async () => {
  const zeros = f.files.find((x) => x.path === 'zeros')!;
  const distinct = new Set(zeros.body.chunks.map((ch) => `${ch.brick.toString('hex')}:${ch.offset}`));
  assert.ok(zeros.body.chunks.length > distinct.size, 'the file of zeros repeats a chunk');
  const c = counted();
  await drain(new BodyStream(c.source, pullArray(jobs()), 32 * 1024 * 1024));
  await c.source.close();
  const all = new Set(f.files.flatMap((x) => x.body.chunks.map((ch) => `${ch.brick.toString('hex')}:${ch.offset}`)));
  assert.equal(c.chunks, all.size, 'each stored chunk asked for once');
  assert.ok(c.calls <= 4, `${f.files.length} files in ${c.calls} requests to the source`);
});

test('buffers given back are reused, and never while the consumer holds them', async () => {
  const pool = new BufferPool();
  const c = counted({ plaintexts: pool });
  const stream = new BodyStream(c.source, pullArray(jobs()), 4 * 1024 * 1024, pool);
  const held: { copy: Buffer; view: Buffer }[] = [];
  let k = 0;
  for (let v = await stream.next(); v !== null; v = await stream.next(), k++) {
    for (let d = await stream.read(); d; d = await stream.read()) held.push({ copy: Buffer.from(d), view: d });
    // Hold the pieces of two files at a time: what is held must not change meanwhile.
    if (k % 2 === 1) {
      for (const h of held) assert.ok(h.view.equals(h.copy), 'a buffer held was not reused');
      held.length = 0;
      stream.release();
    }
  }
  await c.source.close();
  assert.ok(pool.idleBytes > 0, 'buffers went back to the pool');
});

test('a body that does not match its checksum fails alone; the next job still comes', async () => {
  const [a, b] = [f.files.find((x) => x.path === 'big1')!, f.files.find((x) => x.path === 'big2')!];
  const wrong: BodyRef = { storedSize: a.body.storedSize, sha256: Buffer.alloc(32), chunks: a.body.chunks };
  const c = counted();
  const stream = new BodyStream(c.source, pullArray<BodyJob<string>>([{ value: 'bad', body: wrong, path: 'big1' }, { value: 'good', body: b.body, path: 'big2' }]), 1024 * 1024);
  assert.equal(await stream.next(), 'bad');
  await assert.rejects(
    (async () => {
      while (await stream.read());
    })(),
    (e: unknown) => e instanceof CorruptDataError && e.message === 'big1: contents do not match the checksum recorded at ingest',
  );
  assert.equal(await stream.next(), 'good');
  const parts: Buffer[] = [];
  for (let d = await stream.read(); d; d = await stream.read()) parts.push(Buffer.from(d));
  assert.ok(Buffer.concat(parts).equals(b.data));
  await c.source.close();
});

test('a failure of the jobs comes after the jobs before it, and nothing after it', async () => {
  const list = jobs().slice(0, 6);
  let i = 0;
  // Fails once, at the fourth job, and would go on after.
  const failing: Pullable<BodyJob<number>> = {
    next: () => {
      if (i === 3 && !failed) {
        failed = true;
        throw new Error('index damaged here');
      }
      return i < list.length ? list[i++]! : null;
    },
    close: () => Promise.resolve(),
  };
  let failed = false;
  const c = counted();
  const stream = new BodyStream(c.source, failing, 32 * 1024 * 1024);
  const seen: number[] = [];
  await assert.rejects(
    (async () => {
      for (let v = await stream.next(); v !== null; v = await stream.next()) {
        seen.push(v);
        while (await stream.read());
      }
    })(),
    /index damaged here/,
  );
  assert.deepEqual(seen, [0, 1, 2]);
  await c.source.close();
});

test('a consumer served from a full window gives the event loop a turn every megabyte, so that workers\' replies are taken', async () => {
  // Every chunk fetched beforehand: the stream never has to wait, so read() would never return a promise on its own.
  const source = new ChunkSource(f.repo.backend, f.repo.keys, { parallel: 4, threads: 2 });
  const opened = new Map<string, Buffer>();
  for (const file of f.files) {
    for (const c of file.body.chunks) {
      const hex = c.brick.toString('hex');
      opened.set(`${hex}:${c.offset}`, (await source.fetch(hex, [c]))[0]!);
    }
  }
  await source.close();
  source.fetchEach = (hex, chunks) => chunks.map((c) => Promise.resolve(Buffer.from(opened.get(`${hex}:${c.offset}`)!)));
  const stream = new BodyStream(source, pullArray(jobs()), 64 * 1024 * 1024);
  let inARow = 0;
  let most = 0;
  let total = 0;
  for (let v = await stream.next(); v !== null; v = await stream.next()) {
    for (;;) {
      const r = stream.read();
      if (r instanceof Promise) inARow = 0;
      const d = r instanceof Promise ? await r : r;
      if (!d) break;
      inARow += d.length;
      total += d.length;
      most = Math.max(most, inARow);
    }
    stream.release();
  }
  const largest = Math.max(...f.files.flatMap((x) => x.body.chunks.map((c) => c.plainLength)));
  assert.ok(total > 8 * 1024 * 1024, 'enough bytes to need several turns');
  assert.ok(most <= 1024 * 1024 + largest, `${most} bytes handed out without a turn`);
});
