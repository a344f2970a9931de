/**
 * Concurrent writers. Two `dtar ingest` into one store at once (sharing some data, so both
 * write the same chunks) both complete, both restore byte for byte, and the store verifies
 * with --read-data. Two `dtar init` on one store location at once: exactly one wins, the
 * other exits 3 with one line saying a store exists, no key file of the loser is left
 * behind, and the store opens with the winner's passphrase.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dtar, ok, testStore, type TestStore } from '../support/dtar';
import { assertOneLineError, checkStoreObjects, walk } from './support';
import { randomTar } from '../support/random';
import { spawnDtar } from '../support/dtar';

describe('concurrent writers', () => {
  let s: TestStore;
  before(async () => {
    s = await testStore('concurrent passphrase');
  });
  after(() => s.cleanup());

  test('two inits at once: one store, one winner, one clear refusal', async () => {
    for (let round = 0; round < 3; round++) {
      const store = join(s.dir, `init-race-${round}`);
      const envA = { ...s.env, DTAR_STORE: store, DTAR_PASSWORD: 'passphrase A' };
      const envB = { ...s.env, DTAR_STORE: store, DTAR_PASSWORD: 'passphrase B' };
      const [a, b] = await Promise.all([spawnDtar(['init', '--json'], { env: envA }).done, spawnDtar(['init', '--json'], { env: envB }).done]);
      const winners = [a, b].filter((r) => r.code === 0);
      assert.equal(winners.length, 1, `exactly one init wins: ${a.code} ${a.stderr} / ${b.code} ${b.stderr}`);
      const loser = a.code === 0 ? b : a;
      assertOneLineError(loser, 3, /^dtar: a dtar store already exists at /, 'the losing init');
      const keys = (await walk(store)).filter((f) => f.startsWith('keys/'));
      assert.equal(keys.length, 1, "the loser's key file was removed");
      const winnerEnv = a.code === 0 ? envA : envB;
      const id = (JSON.parse(winners[0]!.stdout.toString()) as { id: string }).id;
      const opened = ok(await dtar(['archives', '--json'], { env: winnerEnv }), 'the store opens');
      assert.equal(opened.code, 0);
      const config = JSON.parse(await readFile(join(store, 'config'), 'utf8')) as { id: string };
      assert.equal(config.id, id, "the config is the winner's");
      assertOneLineError(await dtar(['archives'], { env: a.code === 0 ? envB : envA }), 3, /wrong passphrase/, "the loser's passphrase");
    }
  });

  test('two ingests at once into one store both complete and restore byte for byte', async () => {
    const env = { ...s.env, DTAR_STORE: join(s.dir, 'shared') };
    ok(await dtar(['init', '--brick-size', '1M', '--quiet'], { env }), 'init');
    const shared = randomBytes(2_000_000);
    const tars: string[] = [];
    for (const name of ['one', 'two']) {
      const dir = join(s.dir, `src-${name}`);
      await (await import('node:fs/promises')).mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'shared.bin'), shared);
      tars.push(await randomTar(dir, { own: [1_500_000, 900_000, 30_000] }, `${name}.tar`));
    }
    // The shared file goes in both tars, so that both ingests store the same chunks at once.
    const { execFileSync } = await import('node:child_process');
    for (const [i, t] of tars.entries()) execFileSync('tar', ['-C', join(s.dir, `src-${['one', 'two'][i]}`), '-rf', t, 'shared.bin']);
    const indexes = tars.map((t) => t.replace(/\.tar$/, '.idx'));
    const runs = await Promise.all(tars.map((t, i) => spawnDtar(['ingest', t, '-o', indexes[i]!, '--json'], { env }).done));
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    for (const [i, t] of tars.entries()) {
      const back = ok(await dtar(['restore', indexes[i]!], { env }), 'restore').stdout;
      assert.ok(back.equals(await readFile(t)), `${t} restores byte for byte`);
    }
    const v = await dtar(['verify', '--read-data'], { env });
    assert.equal(v.code, 0, v.stdout.toString() + v.stderr);
    await checkStoreObjects(env.DTAR_STORE, 'concurrent passphrase');
    // A third ingest of both deduplicates against what either stored.
    const third = JSON.parse(ok(await dtar(['ingest', tars[0]!, '-o', join(s.dir, 'again.idx'), '--json'], { env }), 'ingest').stderr) as { newChunks: number };
    assert.equal(third.newChunks, 0);
  });
});
