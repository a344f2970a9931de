/**
 * Running the dtar CLI against the S3 test server: a fresh bucket per store, the store
 * options every command needs (`--store s3://BUCKET/PREFIX --s3-endpoint ...`), s3rver's
 * credentials in the environment, and small tar files of random data laid out in
 * directories. Shared by test/s3 and test/thaw.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { S3Backend } from '../../src/store/s3';
import { dtar, DtarResult, ok, testStore, TestStore } from '../support/dtar';
import type { S3TestServer } from '../support/s3-server';

const run = promisify(execFile);

export interface S3Store extends TestStore {
  bucket: string;
  prefix: string;
  url: string;
  /** `--store URL --s3-endpoint ENDPOINT`, for every command. */
  args: string[];
  /** Runs dtar with the store options appended. */
  dtar(args: string[], stdin?: string | Buffer): Promise<DtarResult>;
  /** A backend on the same objects, for looking at them directly. */
  backend(): S3Backend;
}

/** A store location in a fresh bucket (not yet initialised); DTAR_STORE is unset so the flags decide. */
export async function s3Store(server: S3TestServer, label = 'e2e', prefix = 'backups/host1'): Promise<S3Store> {
  const base = await testStore();
  const bucket = await server.newBucket(label);
  const url = `s3://${bucket}/${prefix}`;
  const env: NodeJS.ProcessEnv = { ...base.env, AWS_ACCESS_KEY_ID: server.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey, AWS_REGION: 'us-east-1' };
  delete env['DTAR_STORE'];
  const args = ['--store', url, '--s3-endpoint', server.endpoint];
  return {
    ...base,
    env,
    bucket,
    prefix: `${prefix}/`,
    url,
    args,
    dtar: (a, stdin) => dtar([...a, ...args], stdin === undefined ? { env } : { env, stdin }),
    backend: () => new S3Backend({ bucket, prefix: `${prefix}/`, endpoint: server.endpoint, credentials: server.credentials }),
  };
}

/** Writes `dirs` (name -> file sizes) of random data under `root/src` and tars them; returns the tar's path. */
export async function randomTar(root: string, dirs: Record<string, number[]>, name = 'input.tar'): Promise<string> {
  const src = join(root, 'src');
  for (const [dir, sizes] of Object.entries(dirs)) {
    await mkdir(join(src, dir), { recursive: true });
    for (let i = 0; i < sizes.length; i++) await writeFile(join(src, dir, `f${i}`), randomBytes(sizes[i]!));
  }
  const tar = join(root, name);
  await run('tar', ['-C', src, '--sort=name', '-cf', tar, ...Object.keys(dirs)]);
  return tar;
}

export interface IngestSummary {
  entries: number;
  chunks: number;
  newChunks: number;
  newBytes: number;
  bricks: number;
  storedBytes: number;
}

/** Ingests `tar` into the store, writing `index`; returns ingest's --json summary. */
export async function ingest(s: S3Store, tar: string, index: string, extra: string[] = []): Promise<IngestSummary> {
  const r = ok(await s.dtar(['ingest', tar, '-o', index, '--json', ...extra]), 'ingest');
  return JSON.parse(r.stderr) as IngestSummary;
}

export async function initStore(s: S3Store, extra: string[] = []): Promise<void> {
  ok(await s.dtar(['init', '--quiet', ...extra]), 'init');
}
