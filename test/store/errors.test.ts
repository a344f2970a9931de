/**
 * The storage layer's error classification: what is retried and how failures read.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArchivedError, BackendError, NotFoundError, ObjectExistsError } from '../../src/errors';
import { describeFault, isTransient } from '../../src/store/errors';

/** Shaped like the AWS SDK's service exceptions. */
function sdkError(name: string, status: number, message = name): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

function sysError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('isTransient', () => {
  it('retries throttling, server errors, dropped connections and timeouts', () => {
    for (const err of [
      sdkError('SlowDown', 503),
      sdkError('InternalError', 500),
      sdkError('Unknown', 502),
      sdkError('TooManyRequests', 429),
      sdkError('ConditionalRequestConflict', 409),
      sdkError('RequestTimeout', 400),
      sysError('ECONNRESET', 'read ECONNRESET'),
      sysError('EPIPE', 'write EPIPE'),
      sysError('ETIMEDOUT', 'connect ETIMEDOUT'),
      Object.assign(new Error('socket hang up'), { name: 'Error' }),
      Object.assign(new Error('Connection timed out after 10000 ms'), { name: 'TimeoutError' }),
      new Error('request failed', { cause: sysError('ECONNRESET', 'reset') }),
      new BackendError('s3: get k: SlowDown', { cause: sdkError('SlowDown', 503) }),
    ]) {
      assert.equal(isTransient(err), true, describeFault(err));
    }
  });

  it('never retries answers, access problems or unknown errors', () => {
    for (const err of [
      new NotFoundError('k'),
      new ArchivedError('k'),
      new ObjectExistsError('k'),
      sdkError('AccessDenied', 403),
      sdkError('NoSuchBucket', 404),
      sdkError('BadDigest', 400),
      sysError('EACCES', 'permission denied'),
      sysError('ENOTFOUND', 'getaddrinfo ENOTFOUND nowhere.invalid'),
      new BackendError('local: put k: EACCES', { cause: sysError('EACCES', 'denied') }),
      new BackendError('no cause'),
      new TypeError('bug'),
      'a string',
    ]) {
      assert.equal(isTransient(err), false, describeFault(err));
    }
  });
});

describe('describeFault', () => {
  it('gives one line with the code, the HTTP status and the message', () => {
    assert.equal(
      describeFault(sdkError('SlowDown', 503, 'Please reduce your request rate.')),
      'SlowDown (HTTP 503): Please reduce your request rate.',
    );
    assert.equal(describeFault(sdkError('NotFound', 404)), 'NotFound (HTTP 404)');
    assert.equal(describeFault(sdkError('Unknown', 502, 'line one\nline two')), 'Unknown (HTTP 502): line one');
    assert.equal(describeFault(sysError('ECONNRESET', 'read ECONNRESET')), 'read ECONNRESET');
    assert.equal(describeFault(sysError('ECONNRESET', 'socket hang up')), 'ECONNRESET: socket hang up');
    assert.equal(describeFault(sysError('EACCES', "EACCES: permission denied, open '/x'")), "EACCES: permission denied, open '/x'");
    assert.equal(describeFault(new Error('socket hang up')), 'socket hang up');
    assert.equal(describeFault(new NotFoundError('k')), 'missing from the store: k');
  });
});
