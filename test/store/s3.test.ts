/**
 * S3Backend against s3rver behind the test proxy (test/support/s3-server.ts): the
 * conformance suite, then what only S3 has: storage classes, Glacier archive and restore,
 * server-verified checksums, multipart abort, retries through faults, a server gone for
 * good, and a cross-check with a real S3 client (aws CLI or s3cmd).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { ArchivedError, BackendError, NotFoundError, ObjectExistsError, UsageError } from '../../src/errors';
import { ConcurrencyLimit } from '../../src/store/limit';
import { openBackend } from '../../src/store/open';
import { RetryBackend, type RetryEvent } from '../../src/store/retry';
import { parseRestoreHeader, S3Backend, s3OptionsFromUrl } from '../../src/store/s3';
import { startS3TestServer, type S3TestServer } from '../support/s3-server';
import { collect, iterate, runConformance, sha256, WHOLE } from './conformance';

const MiB = 1024 * 1024;

function s3For(server: S3TestServer, bucket: string, prefix = 'store/'): S3Backend {
  return new S3Backend({ bucket, prefix, endpoint: server.endpoint, credentials: server.credentials });
}

/** Small delays so that exhausted retries take milliseconds, not minutes. */
function fastRetry(inner: S3Backend, events: RetryEvent[] = [], retries = 4): RetryBackend {
  return new RetryBackend(inner, { retries, baseDelayMs: 5, maxDelayMs: 40, onRetry: (e) => events.push(e) });
}

runConformance('S3Backend (s3rver + proxy)', async () => {
  const server = await startS3TestServer();
  const bucket = await server.newBucket('conf');
  return { backend: s3For(server, bucket), cleanup: () => server.stop() };
});

// What commands use: the concurrency limit and retries around S3Backend keep the contract.
runConformance('openBackend(s3://...): ConcurrencyLimit(RetryBackend(S3Backend))', async () => {
  const server = await startS3TestServer();
  const bucket = await server.newBucket('conf-stack');
  // The SDK takes credentials from the process environment, as it does in dtar.
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = server.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = server.credentials.secretAccessKey;
  const backend = openBackend(`s3://${bucket}/store/`, { s3Endpoint: server.endpoint, env: {} });
  assert.ok(backend instanceof ConcurrencyLimit, 'the stack a command gets');
  const cleanup = async (): Promise<void> => {
    restoreEnv('AWS_ACCESS_KEY_ID', saved.id);
    restoreEnv('AWS_SECRET_ACCESS_KEY', saved.secret);
    await server.stop();
  };
  return { backend, cleanup };
});

describe('S3Backend specifics', () => {
  let server: S3TestServer;
  before(async () => {
    server = await startS3TestServer();
  });
  after(() => server.stop());

  it('keeps its objects under the prefix and finds path style for a local endpoint by itself', async () => {
    const bucket = await server.newBucket();
    const be = s3For(server, bucket, 'deep/pre');
    await be.put('config', Buffer.from('c'));
    const put = server.requests.find((r) => r.op === 'PutObject' && r.bucket === bucket);
    assert.equal(put?.key, 'deep/pre/config', 'path-style request to /bucket/prefix/key');
    const other = s3For(server, bucket, 'elsewhere/');
    assert.equal(await other.stat('config'), null);
    assert.deepEqual((await collect(be.list(''))).map((o) => o.key), ['config']);
    await be.close();
    await other.close();
  });

  it('applies a storage class only when one is given', async () => {
    const be = s3For(server, await server.newBucket());
    await be.put('plain', Buffer.from('p'));
    await be.put('ia', Buffer.from('i'), { storageClass: 'STANDARD_IA' });
    await be.put('big-ia', randomBytes(20 * MiB), { storageClass: 'STANDARD_IA' });
    assert.equal((await be.stat('plain'))?.storageClass, 'STANDARD');
    assert.equal((await be.stat('ia'))?.storageClass, 'STANDARD_IA');
    assert.equal((await be.stat('big-ia'))?.storageClass, 'STANDARD_IA', 'multipart uploads carry the class too');
    const plainPut = server.requests.find((r) => r.op === 'PutObject' && r.key === 'store/plain');
    assert.equal(plainPut?.headers['x-amz-storage-class'], undefined);
    await be.close();
  });

  it('sends a SHA-256 the server checks, so a body damaged in transit is refused', async () => {
    const be = s3For(server, await server.newBucket());
    const body = randomBytes(5000);
    await be.put('sum', body);
    const put = server.requests.find((r) => r.op === 'PutObject' && r.key === 'store/sum');
    assert.equal(put?.headers['x-amz-checksum-sha256'], Buffer.from(sha256(body), 'hex').toString('base64'));
    server.failNext(1, 'corrupt', { ops: ['PutObject'] });
    await assert.rejects(be.put('damaged', body), (err: unknown) => err instanceof BackendError && /BadDigest/.test(err.message));
    assert.equal(await be.stat('damaged'), null);
    server.failNext(1, 'corrupt', { ops: ['UploadPart'] });
    await assert.rejects(be.put('damaged-big', randomBytes(20 * MiB)), /BadDigest/);
    assert.equal(await be.stat('damaged-big'), null);
    await be.close();
  });

  it('sends a SHA-256 the caller knows (a brick) as it is, and the server still checks it', async () => {
    const be = s3For(server, await server.newBucket());
    const parts = [randomBytes(3000), randomBytes(70_000)];
    const whole = Buffer.concat(parts);
    const hash = Buffer.from(sha256(whole), 'hex');
    await be.put('brick', () => iterate(parts), { size: whole.length, sha256: hash });
    const put = server.requests.find((r) => r.op === 'PutObject' && r.key === 'store/brick');
    assert.equal(put?.headers['x-amz-checksum-sha256'], hash.toString('base64'));
    assert.equal(put?.headers['x-amz-content-sha256'], hash.toString('hex'), 'the signature covers the known hash');
    assert.equal(sha256(await be.get('brick', WHOLE)), sha256(whole));
    // A hash that is not the body's is refused, and so is a body damaged on the way.
    await assert.rejects(be.put('wrong', whole, { sha256: Buffer.alloc(32) }), /BadDigest/);
    server.failNext(1, 'corrupt', { ops: ['PutObject'] });
    await assert.rejects(be.put('damaged', () => iterate(parts), { size: whole.length, sha256: hash }), /BadDigest/);
    assert.equal(await be.stat('wrong'), null);
    assert.equal(await be.stat('damaged'), null);
    await be.close();
  });

  it('refuses ifAbsent over an existing object for multipart uploads too', async () => {
    const be = s3For(server, await server.newBucket());
    const first = randomBytes(20 * MiB);
    await be.put('big', first, { ifAbsent: true });
    await assert.rejects(be.put('big', randomBytes(20 * MiB), { ifAbsent: true }), ObjectExistsError);
    await assert.rejects(be.put('big', iterate([randomBytes(MiB)]), { ifAbsent: true }), ObjectExistsError);
    assert.equal(sha256(await be.get('big', WHOLE)), sha256(first));
    await be.close();
  });

  it('aborts a failed multipart upload, reporting the failure and not the abort', async () => {
    const be = s3For(server, await server.newBucket());
    server.clearRequests();
    server.failNext(100, 500, { ops: ['UploadPart'] });
    try {
      await assert.rejects(
        be.put('doomed', randomBytes(20 * MiB)),
        (err: unknown) => err instanceof BackendError && /put doomed: InternalError/.test(err.message),
      );
    } finally {
      server.clearFaults();
    }
    // s3rver answers 405 to AbortMultipartUpload; that it was sent is what we can check.
    assert.equal(server.count('AbortMultipartUpload', { key: /doomed$/ }), 1);
    const byMethod = server.countByMethod();
    assert.equal(byMethod['POST'], 1, 'one CreateMultipartUpload, no Complete');
    assert.equal(byMethod['PUT'], 3, 'three parts tried, none retried inside S3Backend');
    assert.equal(byMethod['DELETE'], 1);
    assert.equal(await be.stat('doomed'), null);
    await be.close();
  });

  it('maps ranges past the end and missing buckets sensibly', async () => {
    const be = s3For(server, await server.newBucket());
    await be.put('small', Buffer.from('0123456789'));
    assert.equal((await be.get('small', { offset: 8, length: 100 })).toString(), '89');
    const missing = s3For(server, 'no-such-bucket');
    await assert.rejects(missing.get('x', WHOLE), (err: unknown) => err instanceof BackendError && /NoSuchBucket/.test(err.message));
    await be.close();
    await missing.close();
  });

  describe('an answer longer than asked for is refused as it arrives, not buffered', () => {
    /** Far more than anything asked for here; a client that read it all would hold it all. */
    const FILLER = 256 * MiB;
    /** What may be in flight when the client hangs up: socket buffers, not the filler. */
    const IN_FLIGHT = 32 * MiB;
    const refused = (limit: number) => (err: unknown) =>
      err instanceof BackendError && err.message.includes(`: get obj: the answer is longer than the ${limit} bytes expected; refused without reading the rest`);

    for (const declareLength of [true, false]) {
      const how = declareLength ? 'a declared length' : 'a chunked body';
      it(`a whole object with ${how}`, async () => {
        const be = s3For(server, await server.newBucket());
        await be.put('obj', Buffer.from('the real object'));
        const sent = server.serveOversized(/obj$/, { bytes: FILLER, declareLength });
        await assert.rejects(be.get('obj', { maxLength: MiB }), refused(MiB));
        assert.ok((await sent) < IN_FLIGHT, `the server sent ${await sent} bytes before the client hung up`);
        assert.equal((await be.get('obj', { maxLength: MiB })).toString(), 'the real object', 'the next read works');
        await be.close();
      });

      it(`a range with ${how}`, async () => {
        const be = s3For(server, await server.newBucket());
        await be.put('obj', Buffer.alloc(4096, 1));
        const sent = server.serveOversized(/obj$/, { bytes: FILLER, declareLength });
        await assert.rejects(be.get('obj', { offset: 100, length: 1000 }, Buffer.alloc(1000)), refused(1000));
        assert.ok((await sent) < IN_FLIGHT, `the server sent ${await sent} bytes before the client hung up`);
        await be.close();
      });
    }

    it('is not retried', async () => {
      const events: RetryEvent[] = [];
      const be = fastRetry(s3For(server, await server.newBucket()), events);
      const sent = server.serveOversized(/obj$/, { bytes: FILLER, declareLength: false });
      await assert.rejects(be.get('obj', { maxLength: 10 }), refused(10));
      await sent;
      assert.deepEqual(events, []);
      await be.close();
    });
  });
});

describe('S3Backend Glacier (emulated by the proxy)', () => {
  let server: S3TestServer;
  let be: S3Backend;
  before(async () => {
    server = await startS3TestServer();
    be = s3For(server, await server.newBucket('glacier'));
  });
  after(async () => {
    await be.close();
    await server.stop();
  });

  it('raises ArchivedError for an archived object and lists its class', async () => {
    await be.put('bricks/cold', Buffer.from('frozen'), { storageClass: 'GLACIER' });
    await assert.rejects(be.get('bricks/cold', WHOLE), (err: unknown) => err instanceof ArchivedError && err.key === 'bricks/cold');
    await assert.rejects(be.get('bricks/cold', { offset: 1, length: 2 }), ArchivedError);
    const info = await be.stat('bricks/cold');
    assert.equal(info?.storageClass, 'GLACIER');
    assert.equal(info?.restore, undefined, 'no restore requested yet');
    const listed = await collect(be.list('bricks/'));
    assert.deepEqual(listed.map(({ modified, ...rest }) => rest), [{ key: 'bricks/cold', size: 6, storageClass: 'GLACIER' }]);
    assert.ok(listed[0]!.modified instanceof Date, 'listings say when an object was written');
  });

  it('walks a restore through started, in-progress and readable', async () => {
    const data = randomBytes(20 * MiB);
    await be.put('bricks/deep', data, { storageClass: 'DEEP_ARCHIVE' });
    await assert.rejects(be.get('bricks/deep', WHOLE), ArchivedError);
    assert.equal(await be.requestRestore('bricks/deep', 3, 'Bulk'), 'started');
    assert.equal(await be.requestRestore('bricks/deep', 3, 'Bulk'), 'in-progress');
    assert.deepEqual((await be.stat('bricks/deep'))?.restore, { ongoing: true });
    await assert.rejects(be.get('bricks/deep', WHOLE), ArchivedError, 'not readable while the restore runs');
    const completing = Date.now();
    assert.equal(server.completeRestores(/bricks\/deep$/), 1);
    const completed = Date.now();
    const restored = await be.stat('bricks/deep');
    assert.equal(restored?.storageClass, 'DEEP_ARCHIVE', 'a restored copy keeps its class');
    assert.equal(restored?.restore?.ongoing, false);
    // The header gives the expiry to the second: 3 days after the completion, rounded down.
    const expiry = restored?.restore?.expiry?.getTime() ?? 0;
    assert.ok(expiry >= completing - (completing % 1000) + 3 * 86_400_000 && expiry <= completed + 3 * 86_400_000, `expiry 3 days after the restore completed, got ${restored?.restore?.expiry?.toISOString()}`);
    assert.equal(sha256(await be.get('bricks/deep', WHOLE)), sha256(data));
    assert.equal(await be.requestRestore('bricks/deep', 5, 'Standard'), 'started', '200 on a restored copy');
    const restoreBody = server.requests.filter((r) => r.op === 'RestoreObject');
    assert.equal(restoreBody.length, 3);
  });

  it('answers not-archived for objects outside archive classes, NotFoundError for missing ones', async () => {
    await be.put('bricks/warm', Buffer.from('w'), { storageClass: 'STANDARD_IA' });
    assert.equal(await be.requestRestore('bricks/warm', 1, 'Bulk'), 'not-archived');
    await assert.rejects(be.requestRestore('bricks/none', 1, 'Bulk'), NotFoundError);
  });
});

describe('RetryBackend over S3Backend', () => {
  let server: S3TestServer;
  let bucket: string;
  before(async () => {
    server = await startS3TestServer();
    bucket = await server.newBucket('retry');
  });
  after(() => server.stop());

  it('retries 5xx answers and connection resets until they succeed', async () => {
    const events: RetryEvent[] = [];
    const be = fastRetry(s3For(server, bucket), events);
    const body = randomBytes(4000);
    server.failNext(2, 'reset', { ops: ['PutObject'] });
    await be.put('r/one', body);
    server.failNext(1, 503, { ops: ['GetObject'] });
    server.failNext(1, 500, { ops: ['GetObject'] });
    assert.deepEqual(await be.get('r/one', WHOLE), body);
    server.failNext(1, 'reset', { ops: ['HeadObject'] });
    assert.equal((await be.stat('r/one'))?.size, 4000);
    server.failNext(2, 500, { ops: ['ListObjects'] });
    assert.deepEqual((await collect(be.list('r/'))).map((o) => o.key), ['r/one']);
    server.failNext(1, 503, { ops: ['DeleteObject'] });
    await be.delete('r/one');
    assert.equal(await be.stat('r/one'), null);
    assert.deepEqual(
      events.map((e) => `${e.op} ${e.attempt}`),
      ['put 1', 'put 2', 'get 1', 'get 2', 'stat 1', 'list 1', 'list 2', 'delete 1'],
    );
    await be.close();
  });

  it('rides out a server failing a quarter of all requests', async () => {
    // 44% of requests fail: with 20 retries no request of the ~40 exhausts them (3e-8 each).
    const be = new RetryBackend(s3For(server, bucket), { retries: 20, baseDelayMs: 1, maxDelayMs: 10 });
    const bodies = Array.from({ length: 12 }, () => randomBytes(2000));
    server.failRate(0.25, 503);
    server.failRate(0.25, 'reset');
    try {
      await Promise.all(bodies.map((b, i) => be.put(`rate/${i}`, b)));
      const got = await Promise.all(bodies.map((_, i) => be.get(`rate/${i}`, WHOLE)));
      assert.deepEqual(got, bodies);
      assert.equal((await collect(be.list('rate/'))).length, bodies.length);
    } finally {
      server.clearFaults();
    }
    assert.ok(server.requests.some((r) => r.fault === 503) && server.requests.some((r) => r.fault === 'reset'), 'faults were injected');
    await be.close();
  });

  it('retries a multipart upload whose part failed', async () => {
    const be = fastRetry(s3For(server, bucket));
    const data = randomBytes(20 * MiB);
    server.failNext(1, 503, { ops: ['UploadPart'] });
    await be.put('r/big', data);
    assert.equal(sha256(await be.get('r/big', WHOLE)), sha256(data));
    await be.close();
  });

  it('retries a streamed put given as a function, reopening the stream', async () => {
    const be = fastRetry(s3For(server, bucket));
    const chunks = Array.from({ length: 10 }, () => randomBytes(MiB));
    let opened = 0;
    server.failNext(1, 'reset', { ops: ['UploadPart'] });
    await be.put('r/reopened', () => {
      opened++;
      return iterate(chunks);
    });
    assert.equal(opened, 2);
    assert.equal(sha256(await be.get('r/reopened', WHOLE)), sha256(Buffer.concat(chunks)));
    await be.close();
  });

  it('recognises its own ifAbsent write when the answer was lost', async () => {
    const be = fastRetry(s3For(server, bucket));
    server.failNext(1, 'drop-response', { ops: ['PutObject'] });
    await be.put('r/lost-answer', Buffer.from('mine'), { ifAbsent: true });
    assert.equal(server.count('PutObject', { key: /lost-answer$/ }), 2, 'the retry met the stored object');
    await assert.rejects(
      be.put('r/lost-answer', Buffer.from('mine'), { ifAbsent: true }),
      ObjectExistsError,
      'without a lost answer, exists is exists',
    );
    await be.close();
  });

  it('does not retry answers: missing, archived, exists', async () => {
    const events: RetryEvent[] = [];
    const be = fastRetry(s3For(server, bucket), events);
    await assert.rejects(be.get('r/missing', WHOLE), NotFoundError);
    await be.put('r/cold', Buffer.from('c'), { storageClass: 'GLACIER' });
    await assert.rejects(be.get('r/cold', WHOLE), ArchivedError);
    await assert.rejects(be.put('r/cold', Buffer.from('c'), { ifAbsent: true }), ObjectExistsError);
    assert.deepEqual(events, []);
    assert.equal(server.count('GetObject', { key: /r\/(missing|cold)$/ }), 2);
    await be.close();
  });

  it('gives up on a server gone for good with one clear BackendError after its retries', async () => {
    const events: RetryEvent[] = [];
    const be = fastRetry(s3For(server, bucket), events, 3);
    server.setDown(true);
    try {
      await assert.rejects(be.get('bricks/ab/cd', WHOLE), (err: unknown) => {
        assert.ok(err instanceof BackendError, String(err));
        assert.match(err.message, /^s3:\/\/[^ ]+: get bricks\/ab\/cd: failed 4 times: .*(ECONNRESET|EPIPE|socket hang up)/);
        assert.ok(!err.message.includes('\n'), 'one line');
        return true;
      });
      await assert.rejects(be.put('x', iterate([Buffer.from('streamed')])), /put x: failed once, not retried/);
    } finally {
      server.setDown(false);
    }
    assert.equal(events.length, 3);
    assert.ok(events.every((e) => e.delayMs <= 40), `each wait within the 40 ms cap: ${events.map((e) => e.delayMs).join(', ')}`);
    await be.close();
  });

  // The guard only turns a hang into a failure: passing takes the 300 ms idle time.
  it('fails a request that gets no answer after the idle time, and retries it', { timeout: 60_000 }, async () => {
    const events: RetryEvent[] = [];
    const be = fastRetry(new S3Backend({ bucket, prefix: 'store/', endpoint: server.endpoint, credentials: server.credentials, idleTimeoutMs: 300 }), events);
    await be.put('r/silent', Buffer.from('s'));
    server.failNext(1, 'hold', { ops: ['GetObject'], key: /r\/silent$/ });
    assert.deepEqual(await be.get('r/silent', WHOLE), Buffer.from('s'));
    assert.equal(events.length, 1);
    assert.match(String(events[0]!.error), /timed out after 300 ms of inactivity/);
    await be.close();
  });

  it('does not retry a request cut by close: it cannot keep an ended command running', async () => {
    const be = fastRetry(s3For(server, bucket));
    await be.put('r/left', Buffer.from('x'));
    server.failNext(1, 'hold', { ops: ['DeleteObject'], key: /r\/left$/ });
    const deleting = be.delete('r/left');
    await server.holding(1);
    await be.close();
    // Without the rule the cut request was tried again, and that try was answered.
    await assert.rejects(deleting, /ECONNRESET|socket hang up|aborted/);
    assert.equal(server.count('DeleteObject', { key: /r\/left$/ }), 1);
  });
});

describe('s3OptionsFromUrl, parseRestoreHeader and openBackend for s3://', () => {
  it('reads bucket, prefix, endpoint and region from URL, flags and environment', () => {
    assert.deepEqual(s3OptionsFromUrl('s3://my-bucket/backups/host1/', {}, {}), {
      bucket: 'my-bucket',
      prefix: 'backups/host1/',
      location: 's3://my-bucket/backups/host1/',
      region: 'us-east-1',
    });
    const env = { AWS_ENDPOINT_URL: 'http://127.0.0.1:9000', AWS_DEFAULT_REGION: 'eu-west-1' };
    const fromEnv = s3OptionsFromUrl('s3://bkt', env, {});
    assert.equal(fromEnv.prefix, '');
    assert.equal(fromEnv.endpoint, 'http://127.0.0.1:9000');
    assert.equal(fromEnv.region, 'eu-west-1');
    assert.equal(s3OptionsFromUrl('s3://bkt/p', { ...env, AWS_REGION: 'ap-south-1' }, {}).region, 'ap-south-1');
    const flagged = s3OptionsFromUrl('s3://bkt/p', env, { endpoint: 'https://s3.example.net', region: 'x-1', pathStyle: true });
    assert.equal(flagged.endpoint, 'https://s3.example.net');
    assert.equal(flagged.region, 'x-1');
    assert.equal(flagged.forcePathStyle, true);
  });

  it('rejects malformed S3 locations with UsageError', () => {
    for (const bad of ['s3://', 's3:///x', 's3://UPPER/x', 's3://ab/x', 's3://bkt/a//b', 's3://bkt/../x']) {
      assert.throws(() => s3OptionsFromUrl(bad, {}, {}), UsageError, bad);
    }
    assert.throws(() => s3OptionsFromUrl('s3://bkt/x', {}, { endpoint: 'localhost:9000' }), UsageError);
  });

  it('parses x-amz-restore', () => {
    assert.deepEqual(parseRestoreHeader('ongoing-request="true"'), { ongoing: true });
    assert.deepEqual(parseRestoreHeader('ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"'), {
      ongoing: false,
      expiry: new Date(Date.UTC(2012, 11, 21)),
    });
    assert.equal(parseRestoreHeader('garbage'), undefined);
  });

  it('opens s3:// stores with retries and a concurrency limit, and they work', async () => {
    const server = await startS3TestServer();
    try {
      const bucket = await server.newBucket('open');
      const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
      const be = openBackend(`s3://${bucket}/pfx`, { s3Endpoint: server.endpoint, env });
      assert.ok(be instanceof ConcurrencyLimit);
      assert.equal(be.location, `s3://${bucket}/pfx`);
      server.failNext(1, 503, { ops: ['PutObject'] });
      // Credentials come from the SDK's chain, which reads process.env.
      const saved = { id: process.env['AWS_ACCESS_KEY_ID'], secret: process.env['AWS_SECRET_ACCESS_KEY'] };
      Object.assign(process.env, env);
      try {
        await be.put('config', Buffer.from('cfg'));
        assert.equal((await be.get('config', WHOLE)).toString(), 'cfg');
      } finally {
        restoreEnv('AWS_ACCESS_KEY_ID', saved.id);
        restoreEnv('AWS_SECRET_ACCESS_KEY', saved.secret);
        await be.close();
      }
      assert.equal(server.count('PutObject', { key: /^pfx\/config$/ }), 2, 'the 503 was retried');
    } finally {
      await server.stop();
    }
  });
});

describe('cross-check with a real S3 client', () => {
  it('lists what S3Backend stored, with the aws CLI or s3cmd', async (t) => {
    const run = promisify(execFile);
    const tool = (await run('aws', ['--version']).then(() => 'aws').catch(() => undefined)) ??
      (await run('s3cmd', ['--version']).then(() => 's3cmd').catch(() => undefined));
    if (tool === undefined) return t.skip('neither the aws CLI nor s3cmd is installed');
    const server = await startS3TestServer();
    try {
      const bucket = await server.newBucket('cli');
      const be = s3For(server, bucket, 'store/');
      await be.put('bricks/aa/one', randomBytes(1000));
      await be.put('bricks/bb/two', randomBytes(2000), { storageClass: 'STANDARD_IA' });
      await be.close();
      const host = server.endpoint.replace('http://', '');
      const env = { ...process.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_DEFAULT_REGION: 'us-east-1' };
      const { stdout } =
        tool === 'aws'
          ? await run('aws', ['--endpoint-url', server.endpoint, 's3', 'ls', '--recursive', `s3://${bucket}/store/`], { env })
          : await run(
              's3cmd',
              ['--host', host, '--host-bucket', host, '--no-ssl', '--access_key=S3RVER', '--secret_key=S3RVER', 'ls', '--recursive', `s3://${bucket}/store/`],
              { env },
            );
      assert.match(stdout, /\b1000 +(s3:\/\/[^ ]+\/)?store\/bricks\/aa\/one\b/);
      assert.match(stdout, /\b2000 +(s3:\/\/[^ ]+\/)?store\/bricks\/bb\/two\b/);
    } finally {
      await server.stop();
    }
  });
});

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
