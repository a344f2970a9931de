/**
 * Key files as an attacker with write access to the store would plant them (docs/FORMAT.md §3):
 * one that does not parse, one with ruinous scrypt parameters, one from a newer dtar, one
 * that opens under the user's passphrase but holds another master secret, and a real one
 * with its commitment changed. None of them locks the user out while the real key file
 * opens, and none makes a command behave differently for a right or a wrong guess of the
 * passphrase (the oracle the issue describes). Every command runs as the real CLI.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { seal } from '../../src/crypto/aead';
import { deriveKek, LEGACY_LOG_N, newScryptParams } from '../../src/crypto/kdf';
import { newMasterSecret } from '../../src/crypto/keys';
import { wrapMaster } from '../../src/repo/keyfile';
import { dtar, FAST_KDF, ok, testStore, type TestStore } from '../support/dtar';
import { assertOneLineError } from './support';
import { randomTar } from '../support/random';

const PASSPHRASE = 'the real passphrase';
const WRONG = /^dtar: wrong passphrase: no key in this store opens with it\n$/;

describe('planted and damaged key files', () => {
  let s: TestStore;
  let index: string;
  let storeId: string;
  let realKey: string | undefined;

  before(async () => {
    s = await testStore(PASSPHRASE);
    const tar = await randomTar(s.dir, { d: [5000] });
    index = join(s.dir, 'a.idx');
    ok(await dtar(['init', '--quiet'], { env: s.env }), 'init');
    ok(await dtar(['ingest', tar, '-o', index, '--quiet'], { env: s.env }), 'ingest');
    storeId = (JSON.parse(await readFile(join(s.store, 'config'), 'utf8')) as { id: string }).id;
    [realKey] = await readdir(join(s.store, 'keys'));
  });
  after(() => s.cleanup());

  /** Plants `bytes` as keys/0000000000000000, which lists (and on S3 sorts) before the real one. */
  async function planted<T>(bytes: Buffer | string, run: () => Promise<T>): Promise<T> {
    const path = join(s.store, 'keys', '0000000000000000');
    await writeFile(path, bytes);
    try {
      return await run();
    } finally {
      await rm(path);
    }
  }

  const archives = (passphrase = PASSPHRASE) => dtar(['archives', '--quiet'], { env: { ...s.env, DTAR_PASSWORD: passphrase } });

  test('a key file that does not parse is skipped with one warning line', async () => {
    const r = await planted('{ not json', archives);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, 'dtar: skipping key file keys/0000000000000000: not valid JSON\n');
    assert.match(r.stdout.toString(), /a\.tar|input\.tar/);
  });

  test('scrypt parameters beyond what dtar writes are skipped without being run', async () => {
    for (const kdf of [
      { name: 'scrypt', logN: 22, r: 32, p: 16 },
      { name: 'scrypt', logN: 16, r: 32, p: 1 },
      { name: 'scrypt', logN: 17, r: 8, p: 4 },
      { name: 'scrypt', logN: 10, r: 8, p: 1 },
    ]) {
      const file = JSON.stringify({ version: 1, created: new Date().toISOString(), kdf: { ...kdf, salt: randomBytes(16).toString('base64') }, wrapped: randomBytes(92).toString('base64') });
      const r = await planted(file, archives);
      assert.equal(r.code, 0, `${JSON.stringify(kdf)}: ${r.stderr}`);
      assert.match(r.stderr, /^dtar: skipping key file keys\/0000000000000000: scrypt parameters out of bounds \(logN 15-20, r 8, p 1 accepted\)\n$/, JSON.stringify(kdf));
    }
  });

  test('a key file of a newer format is skipped, saying to upgrade', async () => {
    const r = await planted(JSON.stringify({ version: 3, wrapped: '' }), archives);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, 'dtar: skipping key file keys/0000000000000000: the key file has format version 3, which this dtar does not support; upgrade dtar\n');
  });

  test('a planted key file that opens under the passphrase is treated exactly like one that does not', async () => {
    // The attacker guessed "guess": their key file opens under it, with a master secret of their own.
    for (const version of [1, 2]) {
      const master = newMasterSecret();
      const bytes = version === 2 ? await wrapMaster(master, 'guess', storeId, LEGACY_LOG_N) : await v1KeyFile(master, 'guess', storeId);
      const right = await planted(bytes, async () => ({ user: await archives(), guessed: await archives('guess'), missed: await archives('not the guess') }));
      assert.equal(right.user.code, 0, `v${version}: the real key still opens: ${right.user.stderr}`);
      assert.equal(right.user.stderr, '');
      // A right guess and a wrong one: the same exit code and the same line.
      assertOneLineError(right.guessed, 3, WRONG, `v${version}: passphrase that opens the planted file`);
      assertOneLineError(right.missed, 3, WRONG, `v${version}: passphrase that opens nothing`);
    }
  });

  test('a key file whose commitment does not match its key is not used, even though it would open', async () => {
    const keys = join(s.store, 'keys');
    const real = await readFile(join(keys, realKey!));
    const file = JSON.parse(real.toString()) as { commitment: string };
    file.commitment = randomBytes(32).toString('base64');
    await writeFile(join(keys, realKey!), JSON.stringify(file));
    try {
      assertOneLineError(await archives(), 3, WRONG, 'a wrong commitment');
    } finally {
      await writeFile(join(keys, realKey!), real);
    }
    assert.equal((await archives()).code, 0);
  });
});

/** A key file as dtar wrote them before version 2 (docs/FORMAT.md §3): no kind, no commitment. */
async function v1KeyFile(master: Buffer, passphrase: string, storeId: string): Promise<Buffer> {
  const kdf = newScryptParams(LEGACY_LOG_N);
  const wrapped = seal(await deriveKek(passphrase, kdf), master, Buffer.from(`dtar-key-v1 ${storeId}`));
  return Buffer.from(JSON.stringify({ version: 1, created: new Date().toISOString(), kdf, wrapped: wrapped.toString('base64') }));
}

test('new key files: version 2, owner kind, scrypt logN 17; DTAR_TEST_FAST_KDF writes the legacy cost', async () => {
  const s = await testStore('slow and strong');
  try {
    const env = { ...s.env };
    delete env.DTAR_TEST_FAST_KDF;
    ok(await dtar(['init', '--quiet'], { env }), 'init');
    const [name] = await readdir(join(s.store, 'keys'));
    const file = JSON.parse(await readFile(join(s.store, 'keys', name!), 'utf8')) as { version: number; kind: string; kdf: { logN: number; r: number; p: number }; commitment: string };
    assert.equal(file.version, 2);
    assert.equal(file.kind, 'owner');
    assert.deepEqual([file.kdf.logN, file.kdf.r, file.kdf.p], [17, 8, 1]);
    assert.equal(Buffer.from(file.commitment, 'base64').length, 32);
    ok(await dtar(['key', 'passwd', '--quiet'], { env: { ...env, ...FAST_KDF, DTAR_NEW_PASSWORD: 'fast for tests' } }), 'key passwd');
    const [fast] = await readdir(join(s.store, 'keys'));
    assert.equal((JSON.parse(await readFile(join(s.store, 'keys', fast!), 'utf8')) as { kdf: { logN: number } }).kdf.logN, LEGACY_LOG_N);
  } finally {
    await s.cleanup();
  }
});
