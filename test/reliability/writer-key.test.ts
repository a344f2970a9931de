/**
 * Writer keys (issue 23), as far as they go today: `dtar key export-writer` needs the
 * passphrase and writes a 0600 file; nothing in the store opens with any secret in it (each
 * kind of object tried with each); an index sealed with it is accepted by the commands that
 * read it with the passphrase, and an index claiming that writer but sealed otherwise is not.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { tryOpen } from '../../src/crypto/aead';
import { openChunk } from '../../src/brick/chunk-codec';
import { decodeTable, parseTrailer } from '../../src/brick/format';
import { decodeSegment } from '../../src/catalogue/segment';
import { x25519PublicKey } from '../../src/crypto/keys';
import { decodeIndexCopy } from '../../src/index/copy';
import { readIndex } from '../../src/index/reader';
import { OWNER_SEALER } from '../../src/index/seal';
import { configMacMatches, parseConfig } from '../../src/repo/config';
import { parseKeyFile } from '../../src/repo/keyfile';
import { Repository } from '../../src/repo/repository';
import { LocalBackend } from '../../src/store/local';
import { dtar, ok, testStore, type TestStore } from '../support/dtar';
import { parseIndex, reseal, withSealer } from '../support/forge';
import { assertOneLineError } from './support';
import { randomTar } from '../support/random';

const PASSPHRASE = 'owner passphrase';

interface WriterKeyFile {
  version: number;
  kind: string;
  storeId: string;
  sealer: string;
  storePublicKey: string;
  chunkId: string;
  chunker: string;
  indexMac: string;
  configSha256: string;
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...(await files(join(dir, e.name))));
    else out.push(join(dir, e.name));
  }
  return out;
}

describe('writer keys', () => {
  let s: TestStore;
  let index: string;
  let keyPath: string;
  let key: WriterKeyFile;

  before(async () => {
    s = await testStore(PASSPHRASE);
    ok(await dtar(['init', '--quiet'], { env: s.env }), 'init');
    index = join(s.dir, 'owner.idx');
    ok(await dtar(['ingest', await randomTar(s.dir, { d: [3000, 300_000] }), '-o', index, '--quiet'], { env: s.env }), 'ingest');
    keyPath = join(s.dir, 'host.writer.key');
    const r = ok(await dtar(['key', 'export-writer', '-o', keyPath, '--json'], { env: s.env }), 'export-writer');
    key = JSON.parse(await readFile(keyPath, 'utf8')) as WriterKeyFile;
    assert.deepEqual(JSON.parse(r.stdout.toString()), { sealer: key.sealer, output: keyPath });
  });
  after(() => s.cleanup());

  test('export-writer needs the passphrase and writes a 0600 writer key of the store', async () => {
    assert.equal((await stat(keyPath)).mode & 0o777, 0o600);
    assert.deepEqual([key.version, key.kind], [2, 'writer']);
    assert.match(key.sealer, /^writer:[0-9a-f]{16}$/);
    const repo = await Repository.open(new LocalBackend(s.store), PASSPHRASE, null);
    assert.equal(key.storeId, repo.id);
    assert.ok(Buffer.from(key.storePublicKey, 'base64').equals(x25519PublicKey(repo.keys.x25519)));
    assert.ok(Buffer.from(key.indexMac, 'base64').equals(repo.indexAuth.sealerKey(key.sealer)));
    assertOneLineError(await dtar(['key', 'export-writer', '-o', join(s.dir, 'x.key')], { env: { ...s.env, DTAR_PASSWORD: 'a guess' } }), 3, /wrong passphrase/);
    assertOneLineError(await dtar(['key', 'export-writer'], { env: s.env }), 2, /give -o FILE/);
    // Found among the store's key files, a writer key is skipped: no passphrase opens it.
    const planted = join(s.store, 'keys', '0000000000000000');
    await writeFile(planted, await readFile(keyPath));
    const r = await dtar(['archives', '--quiet'], { env: s.env });
    await rm(planted);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, 'dtar: skipping key file keys/0000000000000000: a key of kind "writer", which no passphrase opens\n');
  });

  test('nothing in the store opens with any secret of a writer key', async () => {
    const secrets = (['storePublicKey', 'chunkId', 'chunker', 'indexMac', 'configSha256'] as const).map((f) => Buffer.from(key[f], 'base64'));
    const repo = await Repository.open(new LocalBackend(s.store), PASSPHRASE, null);
    const all = await files(s.store);
    const under = (prefix: string): string[] => all.filter((f) => f.startsWith(join(s.store, prefix)));
    const chunks: { id: Buffer; plainLength: number; brick: string; offset: number; storedLength: number }[] = [];
    for await (const item of readIndex(Readable.from([await readFile(index)]), index, repo.indexAuth)) {
      for (const c of item.kind === 'entry' ? (item.record?.body.chunks ?? []) : []) chunks.push({ ...c, brick: c.brick.toString('hex') });
    }
    assert.ok(chunks.length >= 2 && under('bricks/').length >= 1 && under('catalogue/').length >= 1 && under('indexes/').length >= 1);
    const config = parseConfig(await readFile(join(s.store, 'config')));
    const tried = { chunks: 0, tables: 0, segments: 0, copies: 0, keys: 0 };
    for (const k of secrets) {
      for (const c of chunks) {
        const brick = await readFile(join(s.store, 'bricks', c.brick.slice(0, 2), c.brick));
        const sealed = brick.subarray(c.offset, c.offset + c.storedLength);
        for (const idKey of secrets) assert.throws(() => openChunk(k, idKey, c.id, c.plainLength, sealed, 'chunk'), /authentication failed/);
        tried.chunks++;
      }
      for (const f of under('bricks/')) {
        const brick = await readFile(f);
        const t = parseTrailer(brick.subarray(brick.length - 12), brick.length, f);
        assert.throws(() => decodeTable(k, brick.subarray(t.offset, t.offset + t.length), t.offset, f), /authentication failed/);
        tried.tables++;
      }
      for (const f of under('catalogue/')) {
        const sealed = await readFile(f);
        assert.throws(() => decodeSegment(k, sealed, f), /authentication failed/);
        tried.segments++;
      }
      for (const f of under('indexes/')) {
        const sealed = await readFile(f);
        assert.throws(() => [...decodeIndexCopy(k, sealed, f)], /authentication failed/);
        tried.copies++;
      }
      for (const f of under('keys/')) {
        const file = parseKeyFile(await readFile(f));
        assert.equal(tryOpen(k, file.wrapped, Buffer.from(`dtar-key-v2 owner ${repo.id}`)), null);
        tried.keys++;
      }
      assert.equal(configMacMatches(k, config), false);
      assert.notEqual(k.toString('hex'), repo.indexAuth.sealerKey(OWNER_SEALER).toString('hex'), "not the owner's index key");
    }
    assert.ok(Object.values(tried).every((n) => n > 0), JSON.stringify(tried));
  });

  test("an index sealed with the writer's key reads with the passphrase; one claiming the writer but sealed otherwise does not", async () => {
    const bytes = await readFile(index);
    const parsed = await parseIndex(bytes);
    // The owner's index as the writer would seal it: its header names the writer, its MAC is under the writer's key.
    const body = withSealer(bytes, parsed, key.sealer);
    const sealed = join(s.dir, 'writer.idx');
    await writeFile(sealed, reseal(parsed, body, Buffer.from(key.indexMac, 'base64')));
    const restored = ok(await dtar(['restore', sealed], { env: s.env }), 'restore of a writer-sealed index');
    assert.equal(restored.stderr, '');
    assert.ok(restored.stdout.equals(ok(await dtar(['restore', index], { env: s.env }), 'restore').stdout));
    const forged = join(s.dir, 'writer-forged.idx');
    await writeFile(forged, reseal(parsed, body, randomBytes(32)));
    assertOneLineError(await dtar(['ls', forged], { env: s.env }), 1, /writer-forged\.idx is not an authentic index of this store/);
    // Nor does the owner's MAC make a header naming a writer pass.
    await writeFile(forged, reseal(parsed, body, (await Repository.open(new LocalBackend(s.store), PASSPHRASE, null)).indexAuth.sealerKey(OWNER_SEALER)));
    assertOneLineError(await dtar(['ls', forged], { env: s.env }), 1, /not an authentic index/);
  });
});
