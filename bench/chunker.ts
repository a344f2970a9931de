/**
 * Issue 8's figures: the keyed chunker's speed against the unkeyed one (same code, another
 * gear table), and what PADMÉ padding costs in stored size, over the chunks of a real tar.
 * Usage: node dist/bench/chunker.js FILE.tar
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as zstd from 'zstd-napi';
import { Chunker, DEFAULT_CHUNKER_PARAMS } from '../src/chunk/chunker';
import { keyedGearTable, publicGearTable } from '../src/chunk/gear';
import { padme } from '../src/crypto/padding';
import { readTar } from '../src/tar/reader';

async function bodies(file: string, each: (body: Buffer) => void): Promise<void> {
  for await (const item of readTar(createReadStream(file, { highWaterMark: 1 << 20 }))) {
    if (item.kind !== 'entry' || item.bodySize === 0) continue;
    const parts: Buffer[] = [];
    for await (const b of item.body) parts.push(b);
    each(Buffer.concat(parts));
  }
}

function throughput(gear: Uint32Array, data: Buffer, rounds: number): number {
  const c = new Chunker(gear, DEFAULT_CHUNKER_PARAMS);
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) c.cutAll(data);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return (data.length * rounds) / secs / 1e6;
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: node dist/bench/chunker.js FILE.tar');
  const data = randomBytes(256 * 1024 * 1024);
  const keyed = keyedGearTable(randomBytes(32));
  const pub = publicGearTable();
  throughput(keyed, data.subarray(0, 1 << 24), 1); // warm up
  const speeds = { keyed: [] as number[], unkeyed: [] as number[] };
  for (let i = 0; i < 3; i++) {
    speeds.keyed.push(throughput(keyed, data, 1));
    speeds.unkeyed.push(throughput(pub, data, 1));
  }
  const best = (xs: number[]): number => Math.max(...xs);
  console.log(`chunker MB/s on 256 MiB random data (best of 3): keyed ${best(speeds.keyed).toFixed(0)}, unkeyed ${best(speeds.unkeyed).toFixed(0)}, ratio ${(best(speeds.keyed) / best(speeds.unkeyed)).toFixed(3)}`);

  const c = new Chunker(keyed, DEFAULT_CHUNKER_PARAMS);
  const cz = new zstd.Compressor();
  cz.setParameters({ compressionLevel: 3 });
  let stored = 0;
  let padded = 0;
  let chunks = 0;
  await bodies(file, (body) => {
    for (const chunk of c.cutAll(body)) {
      const z = cz.compress(chunk);
      const payload = 5 + Math.min(z.length, chunk.length);
      stored += payload + 28;
      padded += padme(payload) + 28;
      chunks++;
    }
  });
  console.log(`padding on ${file}: ${chunks} chunks, ${(stored / 1e6).toFixed(1)} MB sealed unpadded, ${(padded / 1e6).toFixed(1)} MB padded: +${((100 * (padded - stored)) / stored).toFixed(2)}%`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
