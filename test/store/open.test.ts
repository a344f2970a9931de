/**
 * openBackend and defaultStoreDir: which location gives which backend.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/errors';
import { LocalBackend } from '../../src/store/local';
import { defaultStoreDir, openBackend } from '../../src/store/open';

describe('openBackend', () => {
  it('opens plain paths and file:// URLs as local stores', () => {
    const plain = openBackend('/srv/backup');
    assert.ok(plain instanceof LocalBackend);
    assert.equal(plain.location, '/srv/backup');
    const url = openBackend('file:///srv/backup%20x');
    assert.ok(url instanceof LocalBackend);
    assert.equal(url.location, 'file:///srv/backup%20x');
  });

  it('refuses other schemes and empty locations with UsageError', () => {
    assert.throws(() => openBackend('sftp://host/dir'), UsageError);
    assert.throws(() => openBackend('http://host/dir'), UsageError);
    assert.throws(() => openBackend(''), UsageError);
    assert.throws(() => openBackend('file://remotehost/x'), UsageError);
  });
});

describe('defaultStoreDir', () => {
  it('uses XDG_DATA_HOME when absolute, else ~/.local/share', () => {
    assert.equal(defaultStoreDir({ XDG_DATA_HOME: '/x/data', HOME: '/home/u' }), path.join('/x/data', 'dtar', 'store'));
    assert.equal(defaultStoreDir({ XDG_DATA_HOME: 'relative', HOME: '/home/u' }), '/home/u/.local/share/dtar/store');
    assert.equal(defaultStoreDir({ HOME: '/home/u' }), '/home/u/.local/share/dtar/store');
  });
});
