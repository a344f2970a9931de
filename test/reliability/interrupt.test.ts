/**
 * Interrupted ingest (Ctrl-C, kill, a closed terminal): the signal ends dtar as it ends any
 * program, and the half-written index is not left beside the file asked for.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { dtar, DTAR_ARGV, ok, testStore, type TestStore } from '../support/dtar';
import { randomTar } from './support';

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
      // Part of a tar, and standard input left open: the ingest is midway when the signal comes.
      const child = spawn(process.execPath, [...DTAR_ARGV, 'ingest', '-q', '-o', out], { env: s.env, stdio: ['pipe', 'ignore', 'pipe'] });
      child.stdin.on('error', () => undefined);
      child.stdin.write(head);
      const exited = new Promise<NodeJS.Signals | null>((r) => child.on('close', (_code, sig) => r(sig)));
      const temps = async (): Promise<string[]> => (await readdir(s.dir)).filter((n) => n.startsWith(`.${signal}.idx.`));
      for (let i = 0; i < 500 && (await temps()).length === 0; i++) await sleep(20);
      assert.equal((await temps()).length, 1, 'the index is being written under a temporary name');
      child.kill(signal);
      assert.equal(await exited, signal);
      assert.deepEqual(await temps(), [], 'the temporary index is removed');
      assert.ok(!(await readdir(s.dir)).includes(`${signal}.idx`), 'no index is published');
    });
  }
});
