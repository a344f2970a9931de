/**
 * Interrupted uploads mid-ingest, against the S3 test server, for the faults test/s3 does not
 * cover (it covers 5xx answers, resets and a server gone for good): answers lost after the
 * server stored the object (the retry of a create-only catalogue write then meets its own
 * object and must take it as done) are retried, and the ingest completes, restores byte for
 * byte and verifies. A body corrupted in transit is refused by the server's checksum
 * (BadDigest, which dtar does not retry): the ingest ends with one line, exit 3, and no
 * index; a rerun completes and verifies. An ingest that fails that way while other bricks are
 * still uploading releases its store lock only once every write of it has been answered, so
 * that no write lands after a prune may have begun; and a release the server never answers is
 * given up with a warning, and not tried again once the store is closed, so that it cannot
 * keep the process running. (Bricks go up in one PutObject up to 128 MiB;
 * aborting failed multipart uploads is shown in test/store/s3.test.ts.) A server that answers
 * a GET with far more than the object holds is cut off: one line, exit 3, having read only
 * what it expected.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { StoreLock } from '../../src/repo/lock';
import { RetryBackend } from '../../src/store/retry';
import { ok } from '../support/dtar';
import { startS3TestServer, type S3TestServer } from '../support/s3-server';
import { ingest, initStore, s3Store, type S3Store } from '../s3/cli';
import { assertOneLineError } from './support';
import { randomTar } from '../support/random';

/** The index restores the tar byte for byte, and verify --read-data finds the store whole. */
async function assertRestoresAndVerifies(s: S3Store, index: string, tar: string): Promise<void> {
  const back = ok(await s.dtar(['restore', index]), 'restore').stdout;
  assert.ok(back.equals(await readFile(tar)));
  const v = await s.dtar(['verify', '--read-data']);
  assert.equal(v.code, 0, v.stdout.toString() + v.stderr);
}

describe('S3 faults', () => {
  let server: S3TestServer;
  before(async () => {
    server = await startS3TestServer();
  });
  after(() => server.stop());

  test('lost answers are retried, also of create-only writes; the restore is byte for byte', async () => {
    const s = await s3Store(server, 'lost');
    try {
      await initStore(s, ['--brick-size', '1M']);
      const tar = await randomTar(s.dir, { a: [1_200_000, 800_000], b: [1_500_000, 300] });
      const index = join(s.dir, 'lost.idx');
      server.clearRequests();
      server.failNext(2, 'drop-response', { ops: ['PutObject'], key: /catalogue\// });
      server.failNext(1, 'drop-response', { ops: ['PutObject'], key: /bricks\// });
      server.failNext(1, 'drop-response', { ops: ['CompleteMultipartUpload'], key: /indexes\// });
      try {
        await ingest(s, tar, index);
      } finally {
        server.clearFaults();
      }
      assert.ok(server.requests.filter((r) => r.fault === 'drop-response').length >= 3, 'answers were lost');
      await assertRestoresAndVerifies(s, index, tar);
    } finally {
      await s.cleanup();
    }
  });

  test('a body corrupted in transit is refused by the server: one line, exit 3, no index; a rerun completes', async () => {
    const s = await s3Store(server, 'corrupt');
    try {
      await initStore(s, ['--brick-size', '1M']);
      const tar = await randomTar(s.dir, { a: [1_500_000, 1_500_000, 700_000] });
      const index = join(s.dir, 'corrupt.idx');
      server.clearRequests();
      server.failNext(1, 'corrupt', { ops: ['PutObject'], key: /bricks\// });
      let failed;
      try {
        failed = await s.dtar(['ingest', tar, '-o', index]);
      } finally {
        server.clearFaults();
      }
      assertOneLineError(failed, 3, /^dtar: s3:\/\/\S+: put bricks\/\S+: BadDigest \(HTTP 400\): /, 'ingest');
      await assert.rejects(readFile(index), 'no index is published');
      const rerun = await ingest(s, tar, index);
      assert.ok(rerun.newChunks > 0 && rerun.newChunks <= rerun.chunks);
      await assertRestoresAndVerifies(s, index, tar);
    } finally {
      await s.cleanup();
    }
  });

  test('an ingest that fails with bricks still uploading releases its lock only once they are answered', async () => {
    const s = await s3Store(server, 'inflight');
    try {
      await initStore(s, ['--brick-size', '1M']);
      const tar = await randomTar(s.dir, { a: [3_000_000, 3_000_000, 2_000_000] });
      server.clearRequests();
      server.failNext(1, 'hold', { ops: ['PutObject'], key: /bricks\// });
      server.failNext(1, 'corrupt', { ops: ['PutObject'], key: /bricks\// });
      // The first brick is answered only once the second was refused: the ingest has failed by then.
      const refused = server.answered({ ops: ['PutObject'], key: /bricks\//, status: 400 }).then(() => server.releaseHeld());
      let failed;
      try {
        failed = await s.dtar(['ingest', tar, '-o', join(s.dir, 'inflight.idx')]);
      } finally {
        server.clearFaults();
      }
      assert.equal(await refused, 1, 'the first brick was held until the second was refused');
      assertOneLineError(failed, 3, /^dtar: s3:\/\/\S+: put bricks\/\S+: BadDigest \(HTTP 400\): /, 'ingest');
      const releases = server.requests.filter((r) => r.op === 'DeleteObject' && /\/locks\//.test(r.key));
      assert.equal(releases.length, 1);
      const writes = server.requests.filter((r) => r.op === 'PutObject' && /\/(bricks|catalogue)\//.test(r.key));
      assert.ok(writes.some((w) => /\/catalogue\//.test(w.key)), 'a brick stored before the failure was listed');
      for (const w of writes) assert.ok(w.answered !== undefined && w.answered < releases[0]!.arrived, `${w.key}: not answered before the lock was released`);
    } finally {
      await s.cleanup();
    }
  });

  test('a lock release the server never answers is given up with a warning and not tried again', async () => {
    const s = await s3Store(server, 'release');
    try {
      const backend = new RetryBackend(s.backend());
      const warnings: string[] = [];
      const lock = await StoreLock.take(backend, 'shared', { command: 'ingest', warn: (line) => warnings.push(line), releaseTimeoutMs: 100 });
      server.clearRequests();
      server.failNext(1, 'hold', { ops: ['DeleteObject'], key: /\/locks\// });
      await lock.release();
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /^warning: could not release the store lock locks\/[0-9a-f]+ \(no answer in 0\.1 s\); .*`dtar unlock`/);
      await backend.close();
      assert.equal(server.count('DeleteObject', { key: /\/locks\// }), 1);
    } finally {
      server.clearFaults();
      await s.cleanup();
    }
  });

  test('a catalogue segment answered with endless bytes: verify stops with one line, exit 3, having read little', async () => {
    const s = await s3Store(server, 'oversized');
    try {
      await initStore(s);
      const tar = await randomTar(s.dir, { a: [300_000] });
      await ingest(s, tar, join(s.dir, 'oversized.idx'));
      const filler = 256 * 1024 * 1024;
      const sent = server.serveOversized(/catalogue\//, { bytes: filler, declareLength: false });
      const r = await s.dtar(['verify']);
      assertOneLineError(r, 3, /^dtar: s3:\/\/\S+: get catalogue\/\S+: the answer is longer than the \d+ bytes expected; refused without reading the rest$/m, 'verify');
      assert.ok((await sent) < 32 * 1024 * 1024, `the server sent ${await sent} of ${filler} bytes before dtar hung up`);
    } finally {
      await s.cleanup();
    }
  });
});
