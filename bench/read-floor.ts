/**
 * The floor of restore's data path, for bench/ingest.sh: every brick of a local store read
 * whole and every chunk in it opened as the read path opens it (AES-GCM, zstd; the id's HMAC
 * only for chunks a writer key sealed) into one reused buffer,
 * the bricks shared out among worker threads, with no index, no order, no output and no
 * SHA-256 of bodies. Whatever restore costs beyond this is dtar's pipeline (and those hashes).
 * Usage: DTAR_PASSWORD=... node dist/bench/read-floor.js STORE_DIR [THREADS]   (prints seconds)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { openChunk } from '../src/brick/chunk-codec';
import { BRICK_TRAILER_SIZE, decodeTable, parseTrailer } from '../src/brick/format';
import { Repository } from '../src/repo/repository';
import { LocalBackend } from '../src/store/local';

interface Job {
  files: string[];
  dataKey: Uint8Array;
  idKey: Uint8Array;
  storePrivate: Uint8Array;
}

/** Opens every chunk of the bricks given; the plaintext bytes. */
function openAll(job: Job): number {
  const keys = { data: Buffer.from(job.dataKey), chunkId: Buffer.from(job.idKey), x25519: Buffer.from(job.storePrivate) };
  let into = Buffer.allocUnsafe(8 * 1024 * 1024);
  let bytes = 0;
  for (const file of job.files) {
    const brick = readFileSync(file);
    const where = `brick ${file}`;
    const table = parseTrailer(brick.subarray(brick.length - BRICK_TRAILER_SIZE), brick.length, where);
    for (const c of decodeTable(keys, table, brick.subarray(table.offset, table.offset + table.length), where)) {
      if (into.length < c.plainLength) into = Buffer.allocUnsafe(c.plainLength);
      bytes += openChunk(keys, c.id, c.plainLength, brick.subarray(c.offset, c.offset + c.storedLength), where, 'writer-sealed', into).length;
    }
  }
  return bytes;
}

async function main(): Promise<void> {
  const [store, threadsArg] = process.argv.slice(2);
  if (!store) throw new Error('usage: read-floor STORE_DIR [THREADS]');
  const threads = Number(threadsArg ?? 2);
  const repo = await Repository.open(new LocalBackend(store), process.env.DTAR_PASSWORD ?? '', null);
  const files: string[] = [];
  for (const dir of readdirSync(join(store, 'bricks'))) for (const f of readdirSync(join(store, 'bricks', dir))) files.push(join(store, 'bricks', dir, f));
  const started = process.hrtime.bigint();
  const shares = Array.from({ length: threads }, (_, i) => files.filter((_, k) => k % threads === i));
  const bytes = await Promise.all(
    shares.map(
      (share) =>
        new Promise<number>((resolve, reject) => {
          const w = new Worker(__filename, { workerData: { files: share, dataKey: repo.keys.data, idKey: repo.keys.chunkId, storePrivate: repo.keys.x25519 } satisfies Job });
          w.once('message', resolve);
          w.once('error', reject);
        }),
    ),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const total = bytes.reduce((a, b) => a + b, 0);
  console.log(`${seconds.toFixed(2)} s: ${files.length} bricks, ${(total / 1e6).toFixed(0)} MB of chunks opened on ${threads} threads`);
}

if (isMainThread) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
} else {
  parentPort!.postMessage(openAll(workerData as Job));
}
