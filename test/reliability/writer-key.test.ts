/**
 * Writer keys (issue 23): `dtar key export-writer` needs the passphrase and writes a 0600
 * file; `dtar ingest` with it needs no passphrase, deduplicates against the passphrase's
 * archives (also those written before catalogue segment version 2) and its own, and what it
 * writes restores byte for byte with the passphrase; with only the writer key every other
 * command fails with one line; nothing in the store, written by either, opens with any secret
 * in it (each kind of object tried with each), and no catalogue segment holds a chunk id;
 * a revoked writer key cannot ingest; an index sealed with the writer's key is accepted by the
 * commands that read it with the passphrase, and an index claiming that writer but sealed
 * otherwise is not.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { cp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { tryOpen } from '../../src/crypto/aead';
import { openChunk } from '../../src/brick/chunk-codec';
import { decodeTable, parseTrailer } from '../../src/brick/format';
import { decodeSegment, segmentLookup } from '../../src/catalogue/segment';
import { x25519PublicKey } from '../../src/crypto/store-sealing';
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
const run = promisify(execFile);

interface Summary {
  chunks: number;
  newChunks: number;
  newBytes: number;
}

/** `env` as the writer machine has it: the writer key, no passphrase. */
function writerEnv(env: NodeJS.ProcessEnv, keyPath: string): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...env, DTAR_KEY_FILE: keyPath };
  delete e.DTAR_PASSWORD;
  return e;
}

async function ingest(args: string[], env: NodeJS.ProcessEnv, what: string): Promise<Summary> {
  const r = ok(await dtar(['ingest', ...args, '--json'], { env }), what);
  return JSON.parse(r.stderr) as Summary;
}

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
  let env: NodeJS.ProcessEnv;
  /** The owner's tar, and the writer's: the same files and one more. */
  let tarA: string;
  let tarB: string;
  let writerIndex: string;
  let first: Summary;

  before(async () => {
    s = await testStore(PASSPHRASE);
    ok(await dtar(['init', '--quiet'], { env: s.env }), 'init');
    index = join(s.dir, 'owner.idx');
    tarA = await randomTar(s.dir, { d: [3000, 300_000, 3_000_000, 1_500_000] }, 'a.tar');
    ok(await dtar(['ingest', tarA, '-o', index, '--quiet'], { env: s.env }), 'ingest');
    keyPath = join(s.dir, 'host.writer.key');
    const r = ok(await dtar(['key', 'export-writer', '-o', keyPath, '--json'], { env: s.env }), 'export-writer');
    key = JSON.parse(await readFile(keyPath, 'utf8')) as WriterKeyFile;
    assert.deepEqual(JSON.parse(r.stdout.toString()), { sealer: key.sealer, output: keyPath });
    env = writerEnv(s.env, keyPath);
    const src = join(s.dir, 'src-a.tar');
    await writeFile(join(src, 'd', 'extra'), randomBytes(700_000));
    tarB = join(s.dir, 'b.tar');
    await run('tar', ['-C', src, '--sort=name', '--format=posix', '-cf', tarB, 'd']);
    writerIndex = join(s.dir, 'writer.idx');
    first = await ingest([tarB, '-o', writerIndex, '--name', 'from-writer'], env, 'writer ingest');
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

  test('a writer key ingests with no passphrase, deduplicating against the passphrase\'s archives; the passphrase restores it byte for byte', async () => {
    // Only the new file (and the archive's tail) is new: every chunk of the owner's files was found.
    assert.ok(first.newChunks < first.chunks && first.newBytes <= 700_000 + 20_480, JSON.stringify(first));
    const restored = ok(await dtar(['restore', writerIndex], { env: s.env }), 'restore with the passphrase').stdout;
    assert.ok(restored.equals(await readFile(tarB)), 'byte for byte');
    // The index is the writer's, authenticated with its key, and the passphrase's commands take it without a word.
    const parsed = await parseIndex(await readFile(writerIndex));
    assert.equal(parsed.meta.sealer, key.sealer);
    const listed = ok(await dtar(['ls', writerIndex], { env: s.env }), 'ls');
    assert.equal(listed.stderr, '');
    assert.match(listed.stdout.toString(), /d\/extra/);
    assert.match(ok(await dtar(['verify', '--read-data', writerIndex], { env: s.env }), 'verify').stderr, /no damage/);
    // Its stored copy, sealed to the store, is the index byte for byte.
    const archives = JSON.parse(ok(await dtar(['archives', '--json'], { env: s.env }), 'archives').stdout.toString()) as { id: string; name: string }[];
    const copy = archives.find((a) => a.name === 'from-writer');
    assert.ok(copy, JSON.stringify(archives));
    const fetched = join(s.dir, 'fetched.idx');
    ok(await dtar(['archives', 'get', copy.id, '-o', fetched], { env: s.env }), 'archives get');
    assert.ok((await readFile(fetched)).equals(await readFile(writerIndex)));
    // The writer deduplicates against what it wrote itself, and the passphrase against what the writer wrote.
    assert.equal((await ingest([tarB, '-o', join(s.dir, 'again.idx')], env, 'writer again')).newChunks, 0);
    assert.equal((await ingest([tarB, '-o', join(s.dir, 'owner-b.idx')], s.env, 'owner after the writer')).newChunks, 0);
  });

  test('with only the writer key, every other command fails with one line, exit 3', async () => {
    const mnt = join(s.dir, 'mnt');
    const commands = [
      ['restore', writerIndex],
      ['restore', index],
      ['ls', writerIndex],
      ['cat', writerIndex, 'd/extra'],
      ['extract', writerIndex, '-C', s.dir],
      ['mount', writerIndex, mnt],
      ['mount', mnt],
      ['verify', writerIndex],
      ['stats'],
      ['archives'],
      ['archives', 'get', 'x', '-o', join(s.dir, 'x.idx')],
      ['thaw', writerIndex],
      ['repair', '--dry-run'],
      ['key', 'passwd'],
      ['key', 'export-writer', '-o', join(s.dir, 'other.key')],
      ['key', 'revoke-writer', keyPath],
    ];
    for (const args of commands) assertOneLineError(await dtar(args, { env }), 3, /needs the passphrase: the writer key in DTAR_KEY_FILE only lets dtar ingest/, args.join(' '));
  });

  test('nothing in the store, written with the passphrase or the writer key, opens with any secret of a writer key', async () => {
    const secrets = (['storePublicKey', 'chunkId', 'chunker', 'indexMac', 'configSha256'] as const).map((f) => Buffer.from(key[f], 'base64'));
    const repo = await Repository.open(new LocalBackend(s.store), PASSPHRASE, null);
    const all = await files(s.store);
    const under = (prefix: string): string[] => all.filter((f) => f.startsWith(join(s.store, prefix)));
    const chunks: { id: Buffer; plainLength: number; brick: string; offset: number; storedLength: number }[] = [];
    for (const idx of [index, writerIndex]) {
      for await (const item of readIndex(Readable.from([await readFile(idx)]), idx, repo.indexAuth)) {
        for (const c of item.kind === 'entry' ? (item.record?.body.chunks ?? []) : []) chunks.push({ ...c, brick: c.brick.toString('hex') });
      }
    }
    const config = parseConfig(await readFile(join(s.store, 'config')));
    const tried = { ownerChunks: 0, writerChunks: 0, tables: 0, writerTables: 0, segments: 0, writerSegments: 0, copies: 0, writerCopies: 0, keys: 0 };
    const brickVersion = (b: Buffer): number => b[b.length - 1]! - 0x30;
    for (const k of secrets) {
      // Each secret tried as the data key and as the store's private key, with each as the chunk id key.
      const keys = { data: k, x25519: k };
      for (const c of chunks) {
        const brick = await readFile(join(s.store, 'bricks', c.brick.slice(0, 2), c.brick));
        const sealed = brick.subarray(c.offset, c.offset + c.storedLength);
        for (const idKey of secrets) assert.throws(() => openChunk({ ...keys, chunkId: idKey }, c.id, c.plainLength, sealed, 'chunk', 'every'), /authentication failed/);
        tried[brickVersion(brick) === 2 ? 'writerChunks' : 'ownerChunks']++;
      }
      for (const f of under('bricks/')) {
        const brick = await readFile(f);
        const t = parseTrailer(brick.subarray(brick.length - 12), brick.length, f);
        assert.throws(() => decodeTable(keys, t, brick.subarray(t.offset, t.offset + t.length), f), /authentication failed/);
        tried[t.version === 2 ? 'writerTables' : 'tables']++;
      }
      for (const f of under('catalogue/')) {
        const sealed = await readFile(f);
        assert.throws(() => decodeSegment(keys, sealed, f), /authentication failed/);
        tried[sealed[8] === 1 ? 'writerSegments' : 'segments']++;
      }
      for (const f of under('indexes/')) {
        const sealed = await readFile(f);
        assert.throws(() => [...decodeIndexCopy(keys, sealed, f)], /authentication failed/);
        tried[sealed[24] === 1 ? 'writerCopies' : 'copies']++;
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
    // What a writer reads of the catalogue names no chunk: a segment holds no chunk id in the clear.
    for (const f of under('catalogue/')) {
      const bytes = await readFile(f);
      assert.ok(segmentLookup(bytes, f), `${f} has a lookup`);
      for (const c of chunks) assert.equal(bytes.indexOf(c.id), -1, `${f} holds no chunk id`);
    }
  });

  test('a revoked writer key cannot ingest', async () => {
    const other = join(s.dir, 'other.writer.key');
    ok(await dtar(['key', 'export-writer', '-o', other, '--quiet'], { env: s.env }), 'a second writer key');
    const otherKey = JSON.parse(await readFile(other, 'utf8')) as WriterKeyFile;
    assertOneLineError(await dtar(['key', 'revoke-writer', keyPath], { env: { ...s.env, DTAR_PASSWORD: 'a guess' } }), 3, /wrong passphrase/);
    assert.equal(ok(await dtar(['key', 'revoke-writer', keyPath], { env: s.env }), 'revoke').stderr, `revoked writer key ${key.sealer}\n`);
    assert.equal(ok(await dtar(['key', 'revoke-writer', key.sealer], { env: s.env }), 'revoke again').stderr, `writer key ${key.sealer} was already revoked\n`);
    const out = join(s.dir, 'refused.idx');
    assertOneLineError(await dtar(['ingest', tarA, '-o', out], { env }), 3, new RegExp(`writer key ${key.sealer} was revoked`));
    assertOneLineError(await dtar(['ingest', tarA, '-o', out, '--key-file', keyPath], { env: s.env }), 3, /was revoked/);
    await assert.rejects(stat(out), 'no index written');
    // Another writer key of the store still ingests.
    ok(await dtar(['ingest', tarA, '-o', out, '--quiet'], { env: writerEnv(s.env, other) }), 'the other writer key');
    assert.equal((await parseIndex(await readFile(out))).meta.sealer, otherKey.sealer);
  });

  test("an index sealed with the writer's key reads with the passphrase; one claiming the writer but sealed otherwise does not", async () => {
    const bytes = await readFile(index);
    const parsed = await parseIndex(bytes);
    // The owner's index as the writer would seal it: its header names the writer, its MAC is under the writer's key.
    const body = withSealer(bytes, parsed, key.sealer);
    const sealed = join(s.dir, 'writer-sealed.idx');
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

test('export-writer gives segments written before version 2 their lookup: a writer key deduplicates against old archives', async () => {
  const s = await testStore('fixture');
  try {
    const fixtures = join(__dirname, '../../../test/fixtures/format-v1');
    await cp(join(fixtures, 'store'), s.store, { recursive: true });
    const keyPath = join(s.dir, 'w.key');
    ok(await dtar(['key', 'export-writer', '-o', keyPath, '--quiet'], { env: s.env }), 'export-writer');
    const segments = await readdir(join(s.store, 'catalogue'));
    assert.equal(segments.length, 1, 'the old segments, rewritten as one');
    assert.ok(segmentLookup(await readFile(join(s.store, 'catalogue', segments[0]!)), 'segment'));
    const out = join(s.dir, 'w.idx');
    const summary = await ingest([join(fixtures, 'old-2.tar'), '-o', out], writerEnv(s.env, keyPath), 'writer ingest');
    assert.equal(summary.newChunks, 0, JSON.stringify(summary));
    assert.ok(ok(await dtar(['restore', out], { env: s.env }), 'restore').stdout.equals(await readFile(join(fixtures, 'old-2.tar'))));
  } finally {
    await s.cleanup();
  }
});
