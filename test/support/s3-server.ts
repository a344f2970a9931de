/**
 * An S3 server for tests: s3rver on 127.0.0.1 behind a small HTTP proxy that adds what
 * s3rver lacks and what tests need to provoke:
 * - Glacier as AWS documents it: objects stored as GLACIER or DEEP_ARCHIVE answer GET with
 *   403 InvalidObjectState until a RestoreObject has completed; RestoreObject answers 202,
 *   409 RestoreAlreadyInProgress while running, 200 once restored; HEAD carries
 *   x-amz-storage-class and x-amz-restore; listings show the class (of every object, Standard-IA too: s3rver lists all as STANDARD). A restore runs until the
 *   test completes it (`completeRestores`), so no test races a clock.
 * - Atomic visibility: s3rver writes objects in place, so a listing could show one half
 *   written; S3 lists only complete objects, so the proxy leaves out keys being written.
 * - Conditional writes: `If-None-Match: *` on PutObject and CompleteMultipartUpload
 *   (412 PreconditionFailed), which s3rver ignores.
 * - Checksums: `x-amz-checksum-sha256` on PUTs is verified (400 BadDigest), which s3rver
 *   does not do; a `corrupt` fault flips a byte in transit to prove it.
 * - Faults on demand: 500/503 answers, connection resets, corrupted bodies, requests held
 *   unanswered until the test lets them go or the client hangs up, or a server that is down
 *   for good (at once, or after a given number of answers); and a log of requests, in the
 *   order they arrived and were answered, for assertions.
 * - Oversized answers: a GET answered with far more bytes than the object or range holds
 *   (its length declared, or sent chunked without one), counting what it managed to send.
 * Requests are path-style only (the S3 clients in tests use forcePathStyle).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { finished } from 'node:stream/promises';
import type { AddressInfo, Socket } from 'node:net';
import S3rver from 's3rver';
import { makeTempDir } from './tmp';

export type S3Operation =
  | 'ListBuckets'
  | 'CreateBucket'
  | 'ListObjects'
  | 'PutObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'RestoreObject'
  | 'Other';

export interface RequestRecord {
  method: string;
  op: S3Operation;
  bucket: string;
  key: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  /** The fault injected into this request, if any. */
  fault?: FaultKind;
  /** When it arrived and when its answer was sent, on one counter shared by all requests: their order, not a time. */
  arrived: number;
  answered?: number;
  /** The status sent, once answered. */
  status?: number;
  /** A held request whose client hung up before it was let go. */
  clientClosed?: boolean;
}

/**
 * 500/503: an S3 error answer; reset: the connection is cut before the request is served;
 * drop-response: served, then cut before the answer (the client cannot know it worked);
 * corrupt: one byte of a PUT body is flipped on the way to the server; hold: no answer until
 * releaseHeld() (then it is served), or until the client hangs up.
 */
export type FaultKind = 500 | 503 | 'reset' | 'drop-response' | 'corrupt' | 'hold';

/** Which requests a fault applies to; every given field must match. */
export interface FaultMatch {
  methods?: string[];
  ops?: S3Operation[];
  /** Tested against the object key (without the bucket). */
  key?: RegExp;
}

/** How an oversized GET answer is made: `bytes` of filler, their length declared up front or not (chunked). */
export interface Oversize {
  bytes: number;
  declareLength: boolean;
}

export interface S3TestServer {
  /** The proxy's URL: what clients should use. */
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  createBucket(name: string): Promise<void>;
  /** A fresh bucket with a unique name. */
  newBucket(label?: string): Promise<string>;
  /** Fail the next `count` matching requests. */
  failNext(count: number, kind: FaultKind, match?: FaultMatch): void;
  /** Fail each matching request with probability `p` (until clearFaults). */
  failRate(p: number, kind: FaultKind, match?: FaultMatch): void;
  /**
   * Answers the next GetObject whose key matches with `how.bytes` bytes of filler (200, or 206
   * for a ranged request), whatever the object holds. Resolves, once the answer has ended
   * (all sent, or the client hung up), with the bytes the server managed to send.
   */
  serveOversized(key: RegExp, how: Oversize): Promise<number>;
  clearFaults(): void;
  /** Resolves once `count` requests are being held (fault 'hold'). */
  holding(count: number): Promise<void>;
  /** Lets every held request go on to be served; returns how many. */
  releaseHeld(): number;
  /** Resolves with the first request answered from now on that matches (and has `status`, if given). */
  answered(match: FaultMatch & { status?: number }): Promise<RequestRecord>;
  /** Down: every connection is reset at once, as by a server gone for good. */
  setDown(down: boolean): void;
  /**
   * Goes down (as setDown(true)) when the first request arrives after `count` matching
   * requests have been answered in full: those are done, everything later fails. Resolves
   * once it is down.
   */
  downAfter(count: number, match?: FaultMatch): Promise<void>;
  /** Completes every restore in progress whose key matches, now; returns how many. */
  completeRestores(key?: RegExp): number;
  /** Resolves once `count` more HEAD answers have reported a restore as still in progress. */
  reportedOngoing(count: number): Promise<void>;
  /** Every request the proxy received, in order. */
  readonly requests: RequestRecord[];
  countByMethod(): Record<string, number>;
  count(op: S3Operation, match?: { key?: RegExp }): number;
  clearRequests(): void;
  stop(): Promise<void>;
}

const ARCHIVE_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);

interface Archived {
  storageClass: string;
  /** Requested for `days`; `expiry` is set once the restore has completed. */
  restore?: { days: number; expiry?: Date };
}

interface OversizeRule extends Oversize {
  key: RegExp;
  sent(n: number): void;
}

interface FaultRule {
  kind: FaultKind;
  match: FaultMatch;
  remaining?: number;
  probability?: number;
}

export async function startS3TestServer(): Promise<S3TestServer> {
  const tmp = await makeTempDir('s3rver');
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, directory: tmp.path, silent: true });
  const { port: upstreamPort } = await s3rver.run();
  // No keep-alive to s3rver: reusing a socket that s3rver is just closing (idle timeout)
  // resets the request, and a streamed upload cannot be replayed. Seen as 502s under load.
  const upstream = new http.Agent({ keepAlive: false });

  const archived = new Map<string, Archived>(); // by "bucket/key"
  const classes = new Map<string, string>(); // every class but STANDARD, for listings (s3rver lists all as STANDARD)
  const pendingClass = new Map<string, string>(); // multipart uploads' class, by uploadId
  const locks = new Map<string, Promise<void>>();
  const sockets = new Set<Socket>();
  let rules: FaultRule[] = [];
  const oversized: OversizeRule[] = [];
  let down = false;
  /** A pending downAfter: matching answers still to come before going down. */
  let downRule: { match: FaultMatch; remaining: number; wentDown: () => void } | undefined;
  const ongoingWaiters: { remaining: number; done: () => void }[] = [];
  const requests: RequestRecord[] = [];
  let clock = 0;
  const held = new Set<() => void>();
  const holdWaiters: { count: number; done: () => void }[] = [];
  const answerWaiters: { match: FaultMatch & { status?: number }; done: (r: RequestRecord) => void }[] = [];
  const dropResponse = new WeakSet<http.ServerResponse>();
  const writing = new Map<string, number>(); // "bucket/key" -> PUTs or completes in flight
  const listings = new Set<Set<string>>(); // per running listing: keys written meanwhile

  /** Forwards a request to s3rver; resolves with its response, body unread. */
  function forward(
    method: string,
    path: string,
    headers: http.IncomingHttpHeaders,
    body?: http.IncomingMessage | Buffer,
  ): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const up = http.request({ host: '127.0.0.1', port: upstreamPort, method, path, headers, agent: upstream }, resolve);
      up.on('error', reject);
      if (body === undefined) up.end();
      else if (Buffer.isBuffer(body)) up.end(body);
      else body.pipe(up);
    });
  }

  async function relay(res: http.ServerResponse, up: http.IncomingMessage, extraHeaders: http.OutgoingHttpHeaders = {}): Promise<void> {
    if (dropResponse.has(res)) {
      up.resume();
      res.socket?.destroy();
      return;
    }
    res.writeHead(up.statusCode ?? 502, { ...up.headers, ...extraHeaders });
    up.pipe(res);
    // Also when the client hung up while s3rver worked: 'close' is then past, and waiting for
    // it held a create-only key's lock for good, so that no later write of that key was answered.
    await finished(res).catch(() => undefined);
  }

  async function readAll(stream: http.IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  function sendError(res: http.ServerResponse, req: http.IncomingMessage, status: number, code: string, message: string): void {
    const xml =
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
      `<Resource>${req.url ?? ''}</Resource><RequestId>${randomBytes(8).toString('hex')}</RequestId></Error>`;
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': req.method === 'HEAD' ? 0 : Buffer.byteLength(xml) });
    res.end(req.method === 'HEAD' ? undefined : xml);
  }

  /** Answers after the request body has arrived, so the client is not cut off mid-send. */
  async function drainThenError(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    status: number,
    code: string,
    message: string,
  ): Promise<void> {
    await readAll(req);
    sendError(res, req, status, code, message);
  }

  async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = locks.get(name) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const chained = prev.then(() => mine);
    locks.set(name, chained);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (locks.get(name) === chained) locks.delete(name);
    }
  }

  async function exists(bucket: string, key: string): Promise<boolean> {
    const up = await forward('HEAD', `/${bucket}/${encodeKey(key)}`, {});
    up.resume();
    return up.statusCode === 200;
  }

  function goDown(): void {
    const wentDown = downRule?.wentDown;
    downRule = undefined;
    server.setDown(true);
    wentDown?.();
  }

  function pickFault(rec: RequestRecord): FaultKind | undefined {
    for (const rule of rules) {
      if (!matches(rule.match, rec)) continue;
      if (rule.remaining !== undefined) {
        if (rule.remaining <= 0) continue;
        rule.remaining--;
        return rule.kind;
      }
      if (rule.probability !== undefined && Math.random() < rule.probability) return rule.kind;
    }
    return undefined;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const method = req.method ?? 'GET';
    const op = classify(method, bucket, key, url.searchParams);
    const rec: RequestRecord = { method, op, bucket, key, query: url.searchParams, headers: req.headers, arrived: ++clock };
    requests.push(rec);
    res.on('finish', () => {
      rec.answered = ++clock;
      rec.status = res.statusCode;
      for (const w of [...answerWaiters]) {
        if (!matches(w.match, rec) || (w.match.status !== undefined && w.match.status !== rec.status)) continue;
        answerWaiters.splice(answerWaiters.indexOf(w), 1);
        w.done(rec);
      }
    });
    if (downRule !== undefined && downRule.remaining <= 0) goDown();
    if (down) {
      req.socket.destroy();
      return;
    }
    if (downRule && matches(downRule.match, rec)) {
      const rule = downRule;
      res.on('finish', () => rule.remaining--);
    }
    const fault = pickFault(rec);
    if (fault !== undefined) rec.fault = fault;
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault === 'drop-response') dropResponse.add(res);
    if (fault === 'hold' && !(await hold(req))) {
      rec.clientClosed = true;
      return;
    }
    if (fault === 500) return drainThenError(req, res, 500, 'InternalError', 'We encountered an internal error. Please try again.');
    if (fault === 503) return drainThenError(req, res, 503, 'SlowDown', 'Please reduce your request rate.');

    const full = `${bucket}/${key}`;
    const path = req.url ?? '/';
    switch (rec.op) {
      case 'PutObject':
        if (req.headers['if-none-match'] === '*') return withLock(full, () => put(req, res, rec, fault));
        return put(req, res, rec, fault);
      case 'UploadPart':
        return put(req, res, rec, fault);
      case 'CreateMultipartUpload': {
        const up = await forward(method, path, req.headers, req);
        const storageClass = header(req, 'x-amz-storage-class');
        if (up.statusCode === 200) {
          const body = await readAll(up);
          const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(body.toString())?.[1];
          if (uploadId !== undefined && storageClass !== undefined) pendingClass.set(uploadId, storageClass);
          res.writeHead(200, up.headers);
          res.end(body);
          return;
        }
        return relay(res, up);
      }
      case 'CompleteMultipartUpload': {
        const complete = async (): Promise<void> => {
          if (req.headers['if-none-match'] === '*' && (await exists(bucket, key))) {
            return drainThenError(req, res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
          }
          const up = await whileWriting(full, () => forward(method, path, req.headers, req));
          const uploadId = url.searchParams.get('uploadId') ?? '';
          if (up.statusCode === 200) {
            setClass(full, pendingClass.get(uploadId));
            pendingClass.delete(uploadId);
          }
          return relay(res, up);
        };
        return req.headers['if-none-match'] === '*' ? withLock(full, complete) : complete();
      }
      case 'GetObject': {
        const big = oversized.findIndex((o) => o.key.test(key));
        if (big >= 0) return answerOversized(req, res, oversized.splice(big, 1)[0]!);
        const entry = archived.get(full);
        if (entry && entry.restore?.expiry === undefined) {
          return sendError(res, req, 403, 'InvalidObjectState', 'The operation is not valid for the object\'s storage class');
        }
        return relay(res, await forward(method, path, req.headers));
      }
      case 'HeadObject': {
        const up = await forward(method, path, req.headers);
        const entry = archived.get(full);
        if (up.statusCode !== 200 || !entry) return relay(res, up);
        const extra: http.OutgoingHttpHeaders = { 'x-amz-storage-class': entry.storageClass };
        const expiry = entry.restore?.expiry;
        if (entry.restore) extra['x-amz-restore'] = expiry ? `ongoing-request="false", expiry-date="${expiry.toUTCString()}"` : 'ongoing-request="true"';
        if (entry.restore && !expiry) res.on('finish', reportOngoing);
        return relay(res, up, extra);
      }
      case 'RestoreObject':
        return restore(req, res, bucket, key);
      case 'DeleteObject': {
        const up = await forward(method, path, req.headers);
        if ((up.statusCode ?? 500) < 300) setClass(full, undefined);
        return relay(res, up);
      }
      case 'ListObjects':
        return list(req, res, bucket);
      default:
        return relay(res, await forward(method, path, req.headers, req));
    }
  }

  async function put(req: http.IncomingMessage, res: http.ServerResponse, rec: RequestRecord, fault: FaultKind | undefined): Promise<void> {
    const full = `${rec.bucket}/${rec.key}`;
    if (rec.op === 'PutObject' && req.headers['if-none-match'] === '*' && (await exists(rec.bucket, rec.key))) {
      return drainThenError(req, res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
    }
    const checksum = header(req, 'x-amz-checksum-sha256');
    let body: http.IncomingMessage | Buffer = req;
    if (checksum !== undefined || fault === 'corrupt') {
      const data = await readAll(req);
      if (fault === 'corrupt' && data.length > 0) data.writeUInt8(data.readUInt8(data.length >> 1) ^ 0x5a, data.length >> 1);
      if (checksum !== undefined && createHash('sha256').update(data).digest('base64') !== checksum) {
        return sendError(res, req, 400, 'BadDigest', 'The SHA256 you specified did not match the calculated checksum.');
      }
      body = data;
    }
    const headers = { ...req.headers };
    delete headers['if-none-match'];
    const up = await whileWriting(rec.op === 'PutObject' ? full : undefined, () => forward(req.method ?? 'PUT', req.url ?? '/', headers, body));
    if (rec.op === 'PutObject' && up.statusCode === 200) setClass(full, header(req, 'x-amz-storage-class'));
    return relay(res, up);
  }

  /** Sends filler until it is all sent or the client hangs up, honouring backpressure; reports what was written. */
  async function answerOversized(req: http.IncomingMessage, res: http.ServerResponse, rule: OversizeRule): Promise<void> {
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/octet-stream' };
    if (rule.declareLength) headers['content-length'] = rule.bytes;
    res.writeHead(req.headers.range ? 206 : 200, headers);
    res.on('error', () => undefined); // the client hanging up is the point
    const block = Buffer.alloc(64 * 1024, 0x5a);
    let sent = 0;
    let closed = false;
    res.on('close', () => (closed = true));
    while (sent < rule.bytes && !closed) {
      const n = Math.min(block.length, rule.bytes - sent);
      const more = res.write(block.subarray(0, n));
      sent += n;
      if (!more && !closed) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    }
    if (!closed) res.end();
    rule.sent(sent);
  }

  /** Holds a request until releaseHeld(): true, or until its client hangs up: false. */
  function hold(req: http.IncomingMessage): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const go = (): void => {
        held.delete(go);
        req.socket.off('close', hungUp);
        resolve(true);
      };
      const hungUp = (): void => {
        held.delete(go);
        resolve(false);
      };
      held.add(go);
      req.socket.on('close', hungUp);
      for (const w of [...holdWaiters]) {
        if (held.size < w.count) continue;
        holdWaiters.splice(holdWaiters.indexOf(w), 1);
        w.done();
      }
    });
  }

  /** Runs a write to s3rver, hiding `full` from listings until s3rver has answered. */
  async function whileWriting<T>(full: string | undefined, fn: () => Promise<T>): Promise<T> {
    if (full === undefined) return fn();
    writing.set(full, (writing.get(full) ?? 0) + 1);
    for (const touched of listings) touched.add(full);
    try {
      return await fn();
    } finally {
      const n = (writing.get(full) ?? 1) - 1;
      if (n === 0) writing.delete(full);
      else writing.set(full, n);
    }
  }

  function setClass(full: string, storageClass: string | undefined): void {
    if (storageClass !== undefined && ARCHIVE_CLASSES.has(storageClass)) archived.set(full, { storageClass });
    else archived.delete(full);
    if (storageClass !== undefined && storageClass !== 'STANDARD') classes.set(full, storageClass);
    else classes.delete(full);
  }

  async function restore(req: http.IncomingMessage, res: http.ServerResponse, bucket: string, key: string): Promise<void> {
    const body = (await readAll(req)).toString();
    const days = Number(/<Days>(\d+)<\/Days>/.exec(body)?.[1] ?? '1');
    if (!(await exists(bucket, key))) return sendError(res, req, 404, 'NoSuchKey', 'The specified key does not exist.');
    const entry = archived.get(`${bucket}/${key}`);
    if (!entry) return sendError(res, req, 403, 'InvalidObjectState', 'Restore is not allowed for the object\'s current storage class');
    if (!entry.restore) {
      entry.restore = { days };
      res.writeHead(202).end();
    } else if (entry.restore.expiry === undefined) {
      sendError(res, req, 409, 'RestoreAlreadyInProgress', 'Object restore is already in progress');
    } else {
      entry.restore.expiry = expiryFromNow(days); // AWS: a new request on a restored copy resets its expiry
      res.writeHead(200).end();
    }
  }

  function reportOngoing(): void {
    for (const w of [...ongoingWaiters]) {
      if (--w.remaining > 0) continue;
      ongoingWaiters.splice(ongoingWaiters.indexOf(w), 1);
      w.done();
    }
  }

  /** s3rver lists every object as STANDARD and half-written ones too: fix both. */
  async function list(req: http.IncomingMessage, res: http.ServerResponse, bucket: string): Promise<void> {
    // A write that ends while s3rver builds the listing may still be half-written in it.
    const touched = new Set(writing.keys());
    listings.add(touched);
    let xml: string;
    let up: http.IncomingMessage;
    try {
      up = await forward(req.method ?? 'GET', req.url ?? '/', req.headers);
      xml = (await readAll(up)).toString();
    } finally {
      listings.delete(touched);
    }
    const fixed = xml.replace(/<Contents>([\s\S]*?)<\/Contents>/g, (block: string) => {
      const key = unescapeXml(/<Key>([^<]*)<\/Key>/.exec(block)?.[1] ?? '');
      if (touched.has(`${bucket}/${key}`)) return '';
      const cls = classes.get(`${bucket}/${key}`);
      return cls ? block.replace(/<StorageClass>[^<]*<\/StorageClass>/, `<StorageClass>${cls}</StorageClass>`) : block;
    });
    const headers = { ...up.headers, 'content-length': String(Buffer.byteLength(fixed)) };
    res.writeHead(up.statusCode ?? 502, headers);
    res.end(fixed);
  }

  const proxy = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, req, 502, 'ProxyError', String(err));
      else res.destroy();
    });
  });
  proxy.on('connection', (socket) => {
    if (down) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as AddressInfo;

  async function createBucket(name: string): Promise<void> {
    const up = await forward('PUT', `/${name}`, {});
    const body = await readAll(up);
    if (up.statusCode !== 200) throw new Error(`create bucket ${name}: HTTP ${up.statusCode}: ${body.toString()}`);
  }

  let bucketCounter = 0;
  const server: S3TestServer = {
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requests,
    createBucket,
    async newBucket(label = 'test') {
      const name = `${label}-${++bucketCounter}-${randomBytes(3).toString('hex')}`;
      await createBucket(name);
      return name;
    },
    failNext(count, kind, match = {}) {
      rules.push({ kind, match, remaining: count });
    },
    failRate(p, kind, match = {}) {
      rules.push({ kind, match, probability: p });
    },
    serveOversized(key, how) {
      return new Promise<number>((resolve) => oversized.push({ ...how, key, sent: resolve }));
    },
    clearFaults() {
      rules = [];
    },
    holding(count) {
      if (held.size >= count) return Promise.resolve();
      return new Promise<void>((done) => holdWaiters.push({ count, done }));
    },
    releaseHeld() {
      const n = held.size;
      for (const go of [...held]) go();
      return n;
    },
    answered(match) {
      return new Promise<RequestRecord>((done) => answerWaiters.push({ match, done }));
    },
    setDown(d) {
      down = d;
      if (d) for (const s of sockets) s.destroy();
    },
    downAfter(count, match = {}) {
      return new Promise<void>((wentDown) => (downRule = { match, remaining: count, wentDown }));
    },
    completeRestores(key) {
      let n = 0;
      for (const [full, entry] of archived) {
        if (!entry.restore || entry.restore.expiry || (key && !key.test(full.slice(full.indexOf('/') + 1)))) continue;
        entry.restore.expiry = expiryFromNow(entry.restore.days);
        n++;
      }
      return n;
    },
    reportedOngoing(count) {
      return new Promise<void>((done) => ongoingWaiters.push({ remaining: count, done }));
    },
    countByMethod() {
      const counts: Record<string, number> = {};
      for (const r of requests) counts[r.method] = (counts[r.method] ?? 0) + 1;
      return counts;
    },
    count(op, match = {}) {
      return requests.filter((r) => r.op === op && (!match.key || match.key.test(r.key))).length;
    },
    clearRequests() {
      requests.length = 0;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      upstream.destroy();
      await s3rver.close();
      await tmp.cleanup();
    },
  };
  return server;
}

function matches(m: FaultMatch, rec: RequestRecord): boolean {
  return (!m.methods || m.methods.includes(rec.method)) && (!m.ops || m.ops.includes(rec.op)) && (!m.key || m.key.test(rec.key));
}

/** AWS keeps a restored copy `days` days from when the restore completes. */
function expiryFromNow(days: number): Date {
  return new Date(Date.now() + days * 86_400_000);
}

function classify(method: string, bucket: string, key: string, q: URLSearchParams): S3Operation {
  if (bucket === '') return method === 'GET' ? 'ListBuckets' : 'Other';
  if (key === '') {
    if (method === 'GET') return 'ListObjects';
    return method === 'PUT' ? 'CreateBucket' : 'Other';
  }
  switch (method) {
    case 'PUT':
      return q.has('uploadId') ? 'UploadPart' : 'PutObject';
    case 'GET':
      return 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'DELETE':
      return q.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
    case 'POST':
      if (q.has('uploads')) return 'CreateMultipartUpload';
      if (q.has('uploadId')) return 'CompleteMultipartUpload';
      if (q.has('restore')) return 'RestoreObject';
      return 'Other';
    default:
      return 'Other';
  }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e] ?? '');
}
