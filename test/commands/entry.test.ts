/**
 * bin/dtar.js run as users run `dtar`: as an executable, through its `#!` line, which starts
 * Node with the options that bound ingest's memory (see bin/dtar.js).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { DTAR, dtar, NODE_FLAGS, ok, testStore } from '../support/dtar';

test('the entry point runs as an executable, and Node gets the options of its #! line', async () => {
  assert.ok(NODE_FLAGS.length > 0, 'bin/dtar.js names Node options');
  const s = await testStore();
  try {
    ok(await dtar(['init', '--quiet'], { env: s.env }), 'init');
    await writeFile(`${s.dir}/hello.txt`, 'hello\n');
    const tar = execFileSync('tar', ['-C', s.dir, '-cf', '-', 'hello.txt']);
    // ingest waits on its standard input, which gives time to read its command line.
    const child = spawn(DTAR, ['ingest', '-q', '-o', `${s.dir}/x.idx`], { env: s.env, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    // Until env has replaced itself with Node, the command line is env's, which names the
    // script too: wait for Node's own.
    const isNode = (argv: string[]): boolean => /(^|\/)node$/.test(argv[0] ?? '') && argv.includes(DTAR);
    let argv: string[] = [];
    for (let i = 0; i < 250 && !isNode(argv); i++) {
      argv = (await readFile(`/proc/${child.pid}/cmdline`, 'latin1').catch(() => '')).split('\0');
      if (!isNode(argv)) await sleep(20);
    }
    child.stdin.end(tar);
    assert.equal(await exited, 0, stderr);
    for (const flag of NODE_FLAGS) assert.ok(argv.indexOf(flag) >= 0 && argv.indexOf(flag) < argv.indexOf(DTAR), `node runs with ${flag}: ${argv.join(' ')}`);
    assert.ok(ok(await dtar(['restore', `${s.dir}/x.idx`], { env: s.env }), 'restore').stdout.equals(tar));
  } finally {
    await s.cleanup();
  }
});
