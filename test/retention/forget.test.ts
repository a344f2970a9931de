/**
 * `dtar forget` through the CLI on a local store: a policy per archive name, --name, explicit
 * ids, --dry-run, --json, and the usage errors. Only index copies go; bricks stay.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FAST_KDF } from '../support/dtar';
import { randomTar } from '../support/random';
import { makeTempDir, type TempDir } from '../support/tmp';
import { dtar as runDtar } from '../support/dtar';

const dtar = (env: NodeJS.ProcessEnv, ...argv: string[]) => runDtar(argv, { env, inProcess: true });

let tmp: TempDir;
let env: NodeJS.ProcessEnv;

interface Row {
  id: string;
  name: string;
  created: string;
  action: 'keep' | 'drop';
  reasons: string[];
}

async function archives(): Promise<{ id: string; name: string }[]> {
  return JSON.parse((await dtar(env, 'archives', '--json')).stdout.toString()) as { id: string; name: string }[];
}

async function must(...argv: string[]): Promise<{ stdout: string; stderr: string }> {
  const r = await dtar(env, ...argv);
  assert.equal(r.code, 0, `dtar ${argv.join(' ')}: ${r.stderr}`);
  return { stdout: r.stdout.toString(), stderr: r.stderr };
}

before(async () => {
  tmp = await makeTempDir('forget');
  env = { DTAR_PASSWORD: 'pw', DTAR_STORE: join(tmp.path, 'store'), XDG_CACHE_HOME: join(tmp.path, 'cache'), HOME: tmp.path, ...FAST_KDF };
  await must('init');
  const tar = await randomTar(tmp.path, { d: [1000, 70_000] });
  for (const name of ['a', 'b', 'a', 'b', 'a']) await must('ingest', tar, '--name', name, '-o', join(tmp.path, `x.index.tar`), '-q');
});
after(() => tmp.cleanup());

test('a policy applies per name, prints each archive with the rule that keeps it, and --dry-run removes nothing', async () => {
  const all = await archives();
  assert.equal(all.length, 5);
  const r = await must('forget', '--keep-last', '1', '--dry-run');
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 5);
  const byId = new Map(lines.map((l) => [l.split(/\s+/)[1]!, l]));
  const aIds = all.filter((x) => x.name === 'a').map((x) => x.id);
  const bIds = all.filter((x) => x.name === 'b').map((x) => x.id);
  assert.match(byId.get(aIds[2]!)!, /^keep {2}\S+ {2}\S+ \S+ {2}a {2}\(last\)$/);
  assert.match(byId.get(aIds[0]!)!, /^drop {2}.* {2}a$/);
  assert.match(byId.get(bIds[1]!)!, /^keep .*\(last\)$/);
  assert.match(r.stderr, /^would forget 3 of 5 archives/);
  assert.equal((await archives()).length, 5, 'a dry run removes nothing');
});

test('--name restricts the policy, --json reports, and only index copies are removed', async () => {
  const bricksBefore = await readdir(join(tmp.path, 'store', 'bricks'), { recursive: true });
  const all = await archives();
  const r = await dtar(env, 'forget', '--name', 'a', '--keep-last', '2', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.toString()) as { dryRun: boolean; archives: Row[] };
  assert.equal(out.dryRun, false);
  assert.deepEqual(out.archives.map((x) => [x.name, x.action, x.reasons]), [['a', 'keep', ['last']], ['a', 'keep', ['last']], ['a', 'drop', []]]);
  const dropped = out.archives.find((x) => x.action === 'drop')!;
  assert.equal(dropped.id, all.filter((x) => x.name === 'a')[0]!.id, 'the oldest a');
  const left = await archives();
  assert.deepEqual(left.map((x) => x.id), all.map((x) => x.id).filter((id) => id !== dropped.id));
  assert.deepEqual(await readdir(join(tmp.path, 'store', 'bricks'), { recursive: true }), bricksBefore, 'forget deletes no brick');
});

test('explicit archives by id or name; usage errors', async () => {
  const all = await archives();
  const b = all.filter((x) => x.name === 'b');
  const r = await must('forget', b[0]!.id);
  assert.match(r.stdout, new RegExp(`^drop  ${b[0]!.id}  .*  b\\n$`));
  assert.equal(r.stderr, 'forgot 1 of 1 archives; `dtar prune` frees the bricks only they used\n');
  await must('forget', 'b'); // the newest b
  assert.deepEqual((await archives()).filter((x) => x.name === 'b'), []);

  for (const [argv, re] of [
    [['forget'], /nothing to forget/],
    [['forget', 'a', '--keep-last', '1'], /either ARCHIVE arguments or a keep policy/],
    [['forget', '--keep-last', '0'], /--keep-last: at least 1/],
    [['forget', '--keep-within', '3w'], /--keep-within: not a span/],
    [['forget', '--name', 'a'], /--name chooses/],
    [['forget', 'nosuch'], /no archive named nosuch/],
  ] as [string[], RegExp][]) {
    const e = await dtar(env, ...argv);
    assert.equal(e.code, 2, argv.join(' '));
    assert.match(e.stderr, new RegExp(`^dtar: .*${re.source}.*\\n$`), argv.join(' '));
  }
  assert.equal((await archives()).length, 2);
});
