/**
 * Names are bytes through the mount: names that are not UTF-8 (Latin-1, 0xFF, cut
 * sequences) list, stat, open and copy under exactly their bytes, and two names that differ
 * only in such bytes stay two files. The tree is made with those names, archived by GNU tar
 * (PAX, which marks such names hdrcharset=BINARY) and by bsdtar, and mounted through the CLI.
 */
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dtar, ok, testStore, TestStore } from '../support/dtar';
import { Fixture, RunningMount, sh, startMount } from './fixture';

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');
const NAMES = [latin1('caf\xe9.txt'), latin1('caf\xe8.txt'), Buffer.from([0xff]), latin1('cut-\xc3('), Buffer.from('utf8-€.txt')];
const DIR = latin1('dir-\xfe');
const LINK = latin1('link-\xe9');

/** A path under `root` (a string) whose last parts are raw bytes. */
function at(root: string, ...parts: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from(root), ...parts.flatMap((p) => [Buffer.from('/'), p])]);
}

function sorted(names: Buffer[]): string[] {
  return names.map((n) => n.toString('hex')).sort();
}

describe('names that are not UTF-8, through the mount', () => {
  let t: TestStore;
  const mounts: RunningMount[] = [];
  let src: string;

  before(async () => {
    t = await testStore();
    src = join(t.dir, 'src');
    mkdirSync(src);
    NAMES.forEach((n, i) => writeFileSync(at(src, n), `file ${i}: ${n.toString('hex')}\n`));
    mkdirSync(at(src, DIR));
    writeFileSync(at(src, DIR, NAMES[0]!), 'inside\n');
    symlinkSync(at('.', NAMES[1]!), at(src, LINK));
    ok(await dtar(['init', '-q'], { env: t.env }), 'init');
  });

  after(async () => {
    for (const m of mounts) await m.stop();
    await t?.cleanup();
  });

  for (const [tool, args] of [
    ['GNU tar', ['tar', '--format=posix', '-cf']],
    ['bsdtar', ['bsdtar', '-cf']],
  ] as const) {
    test(`archived by ${tool}: exact bytes in listings, stat, reads, links, cp -a and diff -r`, async () => {
      const tar = join(t.dir, `${tool.replace(' ', '-')}.tar`);
      await sh(args[0], [...args.slice(1), tar, '-C', src, '.']);
      const index = `${tar}.idx`;
      ok(await dtar(['ingest', '-q', tar, '-o', index], { env: t.env }), 'ingest');
      const f: Fixture = { ...t, src, index };
      const m = await startMount(f, join(t.dir, `mnt-${tool.replace(' ', '-')}`));
      mounts.push(m);

      const listed = readdirSync(m.dir, { encoding: 'buffer' });
      assert.deepEqual(sorted(listed), sorted([...NAMES, DIR, LINK]));
      // café and cafè are two files, each with its own contents.
      NAMES.forEach((n, i) => {
        assert.equal(readFileSync(at(m.dir, n), 'utf8'), `file ${i}: ${n.toString('hex')}\n`);
        assert.equal(lstatSync(at(m.dir, n)).size, lstatSync(at(src, n)).size);
      });
      assert.deepEqual(sorted(readdirSync(at(m.dir, DIR), { encoding: 'buffer' })), sorted([NAMES[0]!]));
      assert.equal(readFileSync(at(m.dir, DIR, NAMES[0]!), 'utf8'), 'inside\n');
      assert.ok(readlinkSync(at(m.dir, LINK), { encoding: 'buffer' }).equals(at('.', NAMES[1]!)));

      await sh('diff', ['-r', '--no-dereference', src, m.dir]);
      const copy = join(t.dir, `copy-${tool.replace(' ', '-')}`);
      await sh('cp', ['-a', m.dir, copy]);
      await sh('diff', ['-r', '--no-dereference', src, copy]);
      assert.deepEqual(sorted(readdirSync(copy, { encoding: 'buffer' })), sorted([...NAMES, DIR, LINK]));
    });
  }
});
