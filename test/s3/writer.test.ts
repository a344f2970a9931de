/**
 * Ingest with a writer key into an S3 store: it deduplicates against the passphrase's
 * archives and restores byte for byte with the passphrase, and every request it sends is one
 * the writer machine's IAM policy in docs/S3.md allows: PutObject (and its multipart parts)
 * under bricks/, catalogue/ and indexes/, and of its lock under locks/writer-; GetObject on the
 * config, catalogue segments and locks; ListBucket only for the prefixes catalogue/, locks/ and
 * revoked/…; nothing else, no DeleteObject.
 * The policy lists no more than needed: each statement is used. Its lock keeps prune away
 * and is kept away from prune's, with those requests only, and prune clears it once released.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { listLocks, StoreLock } from '../../src/repo/lock';
import { assertOneLineError } from '../reliability/support';
import { dtar, ok } from '../support/dtar';
import { startS3TestServer, type RequestRecord, type S3TestServer } from '../support/s3-server';
import { ingest, initStore, s3Store, type S3Store } from './cli';
import { randomTar, randomTarSource } from '../support/random';

const run = promisify(execFile);

/** The IAM action and resource (relative to the store's prefix) of a request, as docs/S3.md's policy names them. */
function permission(r: RequestRecord, prefix: string): string {
  if (r.op === 'ListObjects') return `s3:ListBucket ${(r.query.get('prefix') ?? '').slice(prefix.length).replace(/^revoked\/.+/, 'revoked/*')}`;
  const key = r.key.slice(prefix.length);
  const top = key.startsWith('locks/writer-') && r.op === 'PutObject' ? 'locks/writer-*' : key.includes('/') ? key.slice(0, key.indexOf('/') + 1) + '*' : key;
  switch (r.op) {
    case 'PutObject':
    case 'CreateMultipartUpload':
    case 'UploadPart':
    case 'CompleteMultipartUpload':
      return `s3:PutObject ${top}`;
    case 'GetObject':
    case 'HeadObject':
      return `s3:GetObject ${top}`;
    default:
      return `${r.op} ${key}`;
  }
}

/** docs/S3.md, "A writer machine": the writer's policy, statement by statement. */
const POLICY = [
  's3:PutObject bricks/*',
  's3:PutObject catalogue/*',
  's3:PutObject indexes/*',
  's3:PutObject locks/writer-*',
  's3:GetObject config',
  's3:GetObject catalogue/*',
  's3:GetObject locks/*',
  's3:ListBucket catalogue/',
  's3:ListBucket locks/',
  's3:ListBucket revoked/*',
];

describe('ingest with a writer key into an S3 store', () => {
  let server: S3TestServer;
  let s: S3Store;

  before(async () => {
    server = await startS3TestServer();
    s = await s3Store(server, 'writer');
    await initStore(s, ['--brick-size', '1M']);
  });
  after(async () => {
    await server.stop();
    await s.cleanup();
  });

  it('deduplicates against the passphrase, restores with it, and asks for nothing its IAM policy does not allow', async () => {
    const tar = await randomTar(s.dir, { home: [1_500_000, 700_000], var: [2_200_000, 3000] });
    await ingest(s, tar, join(s.dir, 'owner.idx'));
    const keyPath = join(s.dir, 'w.key');
    ok(await s.dtar(['key', 'export-writer', '-o', keyPath, '--quiet']), 'export-writer');
    // The writer machine: its own cache, the writer key, no passphrase.
    const env: NodeJS.ProcessEnv = { ...s.env, DTAR_KEY_FILE: keyPath, XDG_CACHE_HOME: join(s.dir, 'writer-cache') };
    delete env.DTAR_PASSWORD;
    // The same files and a new directory.
    await randomTar(s.dir, { new: [2_500_000] }, 'new.tar');
    const more = join(s.dir, 'more.tar');
    await run('tar', ['--sort=name', '-cf', more, '-C', randomTarSource(s.dir), 'home', 'var', '-C', randomTarSource(s.dir, 'new.tar'), 'new']);
    const index = join(s.dir, 'writer.idx');
    server.clearRequests();
    const r = JSON.parse(ok(await dtar(['ingest', more, '-o', index, '--json', ...s.args], { env }), 'writer ingest').stderr) as { chunks: number; newChunks: number; bricks: number };
    const requests = [...server.requests];
    assert.ok(r.bricks >= 2 && r.newChunks < r.chunks, JSON.stringify(r));
    const used = new Set(requests.map((q) => permission(q, s.prefix)));
    assert.deepEqual([...used].filter((p) => !POLICY.includes(p)), [], 'every request is allowed');
    assert.deepEqual(POLICY.filter((p) => !used.has(p)), [], 'every statement is needed');
    const restored = ok(await s.dtar(['restore', index]), 'restore with the passphrase').stdout;
    assert.ok(restored.equals(await readFile(more)));
  });

  it("refuses to ingest during a prune, keeps prune away while it ingests, and prune clears the lock it released", async () => {
    const LOCKED = /^dtar: the store is locked by locks\/(writer-)?[0-9a-f]{16}: (shared|exclusive) lock held by (ingest|prune), pid \d+ on /;
    const backend = s.backend();
    const keyPath = join(s.dir, 'w2.key');
    ok(await s.dtar(['key', 'export-writer', '-o', keyPath, '--quiet']), 'export-writer');
    const env: NodeJS.ProcessEnv = { ...s.env, DTAR_KEY_FILE: keyPath, XDG_CACHE_HOME: join(s.dir, 'writer-cache') };
    delete env.DTAR_PASSWORD;
    // The writer ingest above could not delete its lock: it left it marked released.
    const left = await listLocks(backend);
    assert.ok(left.length === 1 && left[0]!.key.startsWith('locks/writer-') && left[0]!.stale && /^released at /.test(left[0]!.note), JSON.stringify(left));

    const indexes = async (): Promise<number> => {
      let n = 0;
      for await (const _ of backend.list('indexes/')) n++;
      return n;
    };
    const before = await indexes();
    const pruneLock = await StoreLock.take(backend, 'exclusive', { command: 'prune' });
    const tar = await randomTar(s.dir, { locked: [300_000] }, 'locked.tar');
    assertOneLineError(await dtar(['ingest', tar, '-o', join(s.dir, 'refused.idx'), ...s.args], { env }), 3, LOCKED, 'writer ingest during a prune');
    assert.equal(await indexes(), before, 'the refused writer stored no index copy');
    await pruneLock.release();

    // A writer's live lock (as a running writer ingest holds it) stops prune.
    const writerLock = await StoreLock.take(backend, 'shared', { command: 'ingest', writer: true });
    assertOneLineError(await s.dtar(['prune']), 3, LOCKED, 'prune during a writer ingest');
    await writerLock.release();
    ok(await s.dtar(['prune', '-q']), 'prune once the writer released its lock');
    assert.deepEqual(await listLocks(backend), [], 'prune removed the released writer locks');
  });
});
