/**
 * The one way every reader gets chunks out of bricks (ChunkSource), against a real store:
 * the right plaintexts whether they come by ranged reads or out of a brick stretch, opened
 * on workers or on this thread; and damage stays with the chunks it hit: a damaged chunk
 * fails alone though it was read and opened with other files' chunks, and a brick cut short
 * fails only the chunks past the cut.
 */
import assert from 'node:assert/strict';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import type { ChunkRef } from '../../src/index/record';
import { BufferPool } from '../../src/read/buffer-pool';
import { ChunkSource, ChunkSourceOptions } from '../../src/read/chunks';
import { StretchPlan } from '../../src/read/plan';
import { StretchCache } from '../../src/read/stretches';
import { readFixture, ReadFixture } from './fixture';

let f: ReadFixture;

before(async () => {
  f = await readFixture();
});

after(async () => {
  await f?.cleanup();
});

/** Every chunk of the fixture by brick, each with the plaintext it must open to. */
function byBrick(): Map<string, { chunk: ChunkRef; plain: Buffer }[]> {
  const out = new Map<string, { chunk: ChunkRef; plain: Buffer }[]>();
  for (const file of f.files) {
    let at = 0;
    for (const c of file.body.chunks) {
      const hex = c.brick.toString('hex');
      if (!out.has(hex)) out.set(hex, []);
      out.get(hex)!.push({ chunk: c, plain: file.data.subarray(at, at + c.plainLength) });
      at += c.plainLength;
    }
  }
  return out;
}

/** A stretch cache over every brick of the fixture (read whole, whatever their chunks' size). */
function everyStretch(): StretchCache {
  const plan = new StretchPlan<string>();
  for (const [hex, list] of byBrick()) for (const { chunk } of list) plan.add(hex, chunk.offset, chunk.storedLength);
  return StretchCache.of(plan, 256 * 1024 * 1024, Infinity, (hex) => hex, false);
}

async function fetchAll(options: ChunkSourceOptions): Promise<void> {
  const source = new ChunkSource(f.repo.backend, f.repo.keys, options);
  try {
    for (const [hex, list] of byBrick()) {
      const got = await source.fetch(
        hex,
        list.map((x) => x.chunk),
      );
      got.forEach((plain, i) => assert.ok(plain.equals(list[i]!.plain), `chunk ${i} of brick ${hex.slice(0, 8)}`));
    }
  } finally {
    await source.close();
  }
}

test('chunks come back right by ranged reads and out of stretches, on workers and on this thread', async () => {
  for (const threads of [0, 2]) {
    await fetchAll({ parallel: 4, threads });
    await fetchAll({ parallel: 4, threads, stretches: everyStretch() });
    await fetchAll({ parallel: 4, threads, plaintexts: new BufferPool() });
  }
});

/** Runs `check` with one brick file changed by `damage`, then puts it back. */
async function withBrick(chunk: ChunkRef, damage: (path: string, good: Buffer) => Promise<void>, check: () => Promise<void>): Promise<void> {
  const path = f.brickFile(chunk);
  const good = await readFile(path);
  try {
    await damage(path, good);
    await f.repo.backend.close(); // a kept read handle must not see the old file
    await check();
  } finally {
    await writeFile(path, good);
    await f.repo.backend.close();
  }
}

test('a damaged chunk fails alone: the small files read and opened with it come back', async () => {
  const small = byBrick().get(f.files[0]!.body.chunks[0]!.brick.toString('hex'))!.filter((x) => x.chunk.storedLength < 64 * 1024);
  assert.ok(small.length > 50, 'many small chunks in one brick');
  const victim = small[Math.floor(small.length / 2)]!.chunk;
  await withBrick(
    victim,
    async (path, good) => {
      const bad = Buffer.from(good);
      bad[victim.offset + 20]! ^= 0xff;
      await writeFile(path, bad);
    },
    async () => {
      for (const options of [{ parallel: 4 }, { parallel: 4, stretches: everyStretch() }, { parallel: 4, threads: 0 }]) {
        const source = new ChunkSource(f.repo.backend, f.repo.keys, options);
        const got = await Promise.allSettled(source.fetchEach(victim.brick.toString('hex'), small.map((x) => x.chunk)));
        await source.close();
        got.forEach((r, i) => {
          if (small[i]!.chunk === victim) assert.match(r.status === 'rejected' ? String(r.reason) : '', /authentication failed/);
          else assert.ok(r.status === 'fulfilled' && r.value.equals(small[i]!.plain), `chunk ${i} is sound`);
        });
      }
    },
  );
});

test('a brick cut short fails only the chunks past the cut', async () => {
  const hex = f.files[0]!.body.chunks[0]!.brick.toString('hex');
  const list = byBrick().get(hex)!;
  const cut = [...list].sort((a, b) => a.chunk.offset - b.chunk.offset)[Math.floor(list.length / 2)]!.chunk.offset + 10;
  await withBrick(
    list[0]!.chunk,
    (path) => truncate(path, cut),
    async () => {
      for (const options of [{ parallel: 4 }, { parallel: 4, stretches: everyStretch() }]) {
        const source = new ChunkSource(f.repo.backend, f.repo.keys, options);
        const got = await Promise.allSettled(
          source.fetchEach(
            hex,
            list.map((x) => x.chunk),
          ),
        );
        await source.close();
        got.forEach((r, i) => {
          const { chunk, plain } = list[i]!;
          if (chunk.offset + chunk.storedLength > cut) assert.match(r.status === 'rejected' ? String(r.reason) : '', new RegExp(`brick ${hex} is truncated`));
          else assert.ok(r.status === 'fulfilled' && r.value.equals(plain), `chunk at ${chunk.offset}, before the cut, is sound`);
        });
      }
    },
  );
});

test('a store read keeps its place at the gate until its chunks are opened', async () => {
  const big = f.files.find((x) => x.path === 'big1')!.body.chunks;
  const hex = big[0]!.brick.toString('hex');
  const chunks = big.filter((c) => c.brick.toString('hex') === hex);
  assert.ok(chunks.length >= 2, 'several large chunks in one brick');
  const events: ({ read: [number, number] } | { opened: number })[] = [];
  const backend = Object.create(f.repo.backend) as typeof f.repo.backend;
  backend.get = (key, want, into) => {
    assert.ok('offset' in want, 'chunks are read by range');
    events.push({ read: [want.offset, want.offset + want.length] });
    return f.repo.backend.get(key, want, into);
  };
  const source = new ChunkSource(backend, f.repo.keys, { parallel: 1, threads: 2 });
  await Promise.all(source.fetchEach(hex, chunks).map((p, i) => p.then(() => events.push({ opened: chunks[i]!.offset }))));
  await source.close();
  const log = JSON.stringify(events);
  assert.ok(events.filter((e) => 'read' in e).length >= 2, `several reads: ${log}`);
  // Every chunk of a read (one or, where the chunking made small neighbours, a few) is opened before the next read starts.
  let waiting = new Set<number>();
  for (const e of events) {
    if ('read' in e) {
      assert.equal(waiting.size, 0, `a read started before the last one's chunks were opened: ${log}`);
      waiting = new Set(chunks.filter((c) => c.offset >= e.read[0] && c.offset < e.read[1]).map((c) => c.offset));
    } else assert.ok(waiting.delete(e.opened), `chunk at ${e.opened} opened while another read held the gate: ${log}`);
  }
});
