/**
 * Interrupted ingest (Ctrl-C, kill, a closed terminal): the signal ends dtar as it ends any
 * program, and the half-written index is not left beside the file asked for.
 */
import assert from 'node:assert/strict';
import { watch } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dtar, ok, spawnDtar, testStore, type TestStore } from '../support/dtar';
import { randomTar } from '../support/random';

describe('signals during ingest', () => {
  let s: TestStore;
  let head: Buffer;
  before(async () => {
    s = await testStore();
    ok(await dtar(['init', '--quiet'], { env: s.env }), 'init');
    head = (await readFile(await randomTar(s.dir, { a: [3_000_000, 2_000_000] }))).subarray(0, 4_000_000);
  });
  after(() => s.cleanup());

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    test(`${signal}: dtar ends by it, leaving no temporary index`, async () => {
      const out = join(s.dir, `${signal}.idx`);
      const temps = async (): Promise<string[]> => (await readdir(s.dir)).filter((n) => n.startsWith(`.${signal}.idx.`));
      // Told by the file system (no polling) when the temporary index appears.
      const watcher = watch(s.dir);
      const appeared = new Promise<void>((resolve) => watcher.on('change', (_e, name) => String(name).startsWith(`.${signal}.idx.`) && resolve()));
      // Part of a tar, and standard input left open: the ingest is midway when the signal comes.
      const { child, done } = spawnDtar(['ingest', '-q', '-o', out], { env: s.env, stdin: head, keepStdinOpen: true });
      try {
        await appeared;
      } finally {
        watcher.close();
      }
      assert.equal((await temps()).length, 1, 'the index is being written under a temporary name');
      child.kill(signal);
      assert.equal((await done).signal, signal);
      assert.deepEqual(await temps(), [], 'the temporary index is removed');
      assert.ok(!(await readdir(s.dir)).includes(`${signal}.idx`), 'no index is published');
    });
  }
});
