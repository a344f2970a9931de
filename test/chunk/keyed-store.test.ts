/** Issue 8: two stores made with the same passphrase cut the same file at different places. */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Chunker } from '../../src/chunk/chunker';
import { Repository } from '../../src/repo/repository';
import { LocalBackend } from '../../src/store/local';

test('same passphrase, different master keys: different chunk boundaries', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dtar-keyed-'));
  try {
    const params = { min: 4096, avg: 16384, max: 65536 };
    const a = await Repository.init(new LocalBackend(join(dir, 'a')), 'same passphrase', { chunker: params }, null);
    const b = await Repository.init(new LocalBackend(join(dir, 'b')), 'same passphrase', { chunker: params }, null);
    const data = randomBytes(1024 * 1024);
    const boundaries = (repo: Repository): number[] => {
      const c = new Chunker(repo.gear, repo.config.chunker);
      let o = 0;
      return [...c.push(data), ...c.finish()].map((x) => (o += x.length));
    };
    const ba = boundaries(a);
    const bb = new Set(boundaries(b));
    assert.ok(ba.length > 20);
    const shared = ba.filter((x) => bb.has(x)).length;
    assert.ok(shared <= 2, `only the end of the data is a shared boundary (${shared})`);
    const reopened = await Repository.open(new LocalBackend(join(dir, 'a')), 'same passphrase', null);
    assert.deepEqual(boundaries(reopened), ba, 'a store cuts the same way every time it is opened');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
