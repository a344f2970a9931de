/**
 * Running the dtar CLI against the S3 test server: a fresh bucket per store, the store
 * options every command needs (`--store s3://BUCKET/PREFIX --s3-endpoint ...`), s3rver's
 * credentials in the environment. Shared by test/s3 and test/thaw.
 */
import { S3Backend } from '../../src/store/s3';
import { dtar, DtarResult, ok, testStore, TestStore } from '../support/dtar';
import type { S3TestServer } from '../support/s3-server';

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
