/**
 * Names that would take over a terminal (an OSC title change, a screen clear, a C1 CSI, a
 * newline, bytes that are not UTF-8) never reach it raw: `ls`, `verify`, `restore`, `extract`
 * and `cat` show them escaped as GNU tar does (`\033`, `\a`, `\377`), and `ls --json` and
 * `verify --json` give back the exact bytes. The archive comes from GNU tar over files so
 * named; the commands are the real CLI.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodeHeader, paddingFor } from '../../src/tar/header';
import { dtar, ok, testStore, type TestStore } from '../support/dtar';

/** Member names below d/, as bytes: each is a way to reach the terminal. */
const NAMES: Buffer[] = [
  Buffer.from('a\x1b]0;pwned\x07\x1b[2J'),
  Buffer.from('tab\there'),
  Buffer.from('nl\nx'),
  Buffer.from('cr\rx'),
  Buffer.from('bs\\x'),
  Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe]),
  Buffer.from('c1\u009b31m'),
  Buffer.from('del\x7f'),
  Buffer.from('ls\u2028x'),
  Buffer.from('\u00e9 \u00fc'),
];
const LINK_TARGET = Buffer.from('\x1b[2J');
/** How GNU tar (C.UTF-8) shows some of them. */
const SHOWN = ['d/a\\033]0;pwned\\a\\033[2J', 'd/tab\\there', 'd/nl\\nx', 'd/bad\\377\\376', 'd/c1\\302\\23331m', 'd/ls\\342\\200\\250x', 'd/\u00e9 \u00fc'];

/** Output a terminal can show without being driven: valid UTF-8, no control character but the newline. */
function assertHarmless(out: Buffer, what: string): string {
  const text = new TextDecoder('utf-8', { fatal: true }).decode(out);
  const control = /[\p{Cc}\u2028\u2029]/u.exec(text.replace(/\n/g, ''));
  assert.equal(control, null, `${what}: a raw control character in ${JSON.stringify(text)}`);
  return text;
}

const member = (name: Buffer): Buffer => Buffer.concat([Buffer.from('d/'), name]);
const sameBytes = (a: Buffer[], b: Buffer[]): void => assert.deepEqual(a.map((x) => x.toString('hex')).sort(), b.map((x) => x.toString('hex')).sort());

let s: TestStore;
let tar: string;
let index: string;
const gnuEnv = (): NodeJS.ProcessEnv => ({ ...s.env, LC_ALL: 'C.UTF-8', TZ: 'UTC' });

before(async () => {
  s = await testStore();
  const src = join(s.dir, 'src');
  await mkdir(join(src, 'd'), { recursive: true });
  for (const [i, name] of NAMES.entries()) await writeFile(Buffer.concat([Buffer.from(`${src}/d/`), name]), `file ${i}\n`);
  await symlink(LINK_TARGET, join(src, 'd', 'link'));
  tar = join(s.dir, 'names.tar');
  execFileSync('tar', ['-C', src, '--sort=name', '-cf', tar, 'd']);
  index = join(s.dir, 'names.index.tar');
  ok(await dtar(['init', '--quiet'], { env: s.env }), 'init');
  ok(await dtar(['ingest', tar, '-o', index, '--quiet'], { env: s.env }), 'ingest');
});
after(() => s.cleanup());

test('ls prints names exactly as GNU tar lists them', async () => {
  const r = ok(await dtar(['ls', index], { env: gnuEnv() }), 'ls');
  assertHarmless(r.stdout, 'ls');
  assert.equal(r.stdout.toString('hex'), execFileSync('tar', ['-tf', tar], { env: gnuEnv() }).toString('hex'), 'the bytes of `tar tf`');
  for (const shown of SHOWN) assert.ok(r.stdout.toString('utf8').split('\n').includes(shown), shown);
});

test('ls -l escapes names and link targets', async () => {
  const r = ok(await dtar(['ls', '-l', index], { env: gnuEnv() }), 'ls -l');
  const text = assertHarmless(r.stdout, 'ls -l');
  assert.match(text, / d\/link -> \\033\[2J\n/);
  for (const shown of SHOWN) assert.ok(text.includes(` ${shown}\n`), shown);
});

test('ls --json gives back every name and link target byte for byte', async () => {
  const r = ok(await dtar(['ls', '--json', index], { env: s.env }), 'ls --json');
  assertHarmless(r.stdout, 'ls --json');
  const rows = r.stdout.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { path: string; pathBase64?: string; linkpath?: string; linkpathBase64?: string });
  const exact = (text: string | undefined, base64: string | undefined): Buffer => (base64 !== undefined ? Buffer.from(base64, 'base64') : Buffer.from(text ?? '', 'utf8'));
  sameBytes(rows.map((e) => exact(e.path, e.pathBase64)), [Buffer.from('d/'), ...NAMES.map(member), Buffer.from('d/link')]);
  const link = rows.find((e) => e.path === 'd/link');
  assert.deepEqual(exact(link?.linkpath, link?.linkpathBase64), LINK_TARGET);
  const bad = rows.find((e) => e.pathBase64 !== undefined);
  assert.equal(bad?.path, 'd/bad\ufffd\ufffd', 'the text form of a name that is not UTF-8');
});

test('cat names a symbolic link target escaped', async () => {
  const r = await dtar(['cat', index, 'd/link'], { env: s.env });
  assert.equal(r.code, 2);
  assertHarmless(r.stderrBytes, 'cat');
  assert.equal(r.stderr, 'dtar: d/link: a symbolic link to \\033[2J\n');
});

test('verify, restore and extract name damaged files escaped; verify --json exactly', async () => {
  const bricks = join(s.store, 'bricks');
  const away = join(s.dir, 'bricks-away');
  await rename(bricks, away);
  try {
    const v = await dtar(['verify', index], { env: s.env });
    assert.equal(v.code, 1, v.stderr);
    const report = assertHarmless(v.stdout, 'verify');
    assertHarmless(v.stderrBytes, 'verify stderr');
    for (const shown of SHOWN) assert.ok(report.includes(`: ${shown}: in brick `), `verify names ${shown}`);

    const j = await dtar(['verify', '--json', index], { env: s.env });
    assert.equal(j.code, 1);
    const problems = (JSON.parse(j.stdout.toString('utf8')) as { fileProblems: { path: string; pathBase64?: string }[] }).fileProblems;
    sameBytes(problems.map((p) => (p.pathBase64 !== undefined ? Buffer.from(p.pathBase64, 'base64') : Buffer.from(p.path, 'utf8'))), [...NAMES.map(member), Buffer.from('(end of archive)')]);

    const r = await dtar(['restore', index, '-o', join(s.dir, 'out.tar')], { env: s.env });
    assert.equal(r.code, 1);
    assertHarmless(r.stderrBytes, 'restore');
    assert.match(r.stderr, /^dtar: d\/a\\033\]0;pwned\\a\\033\[2J: brick [0-9a-f]{64}/);

    const target = join(s.dir, 'extracted');
    const x = await dtar(['extract', index, '-C', target, '--quiet'], { env: s.env });
    assert.equal(x.code, 1);
    const warnings = assertHarmless(x.stderrBytes, 'extract');
    for (const shown of SHOWN) assert.ok(warnings.includes(`dtar: ${shown}: brick `), `extract names ${shown}`);
  } finally {
    await rename(away, bricks);
  }
});

test('extract names refused members escaped', async () => {
  const entry = (name: Buffer): Buffer => {
    const body = Buffer.from('x');
    return Buffer.concat([encodeHeader({ name, size: 1, mode: 0o644, mtime: 1e9 }), body, Buffer.alloc(paddingFor(1))]);
  };
  const crafted = join(s.dir, 'refused.tar');
  await writeFile(crafted, Buffer.concat([entry(Buffer.from('../\x1b]0;x\x07')), entry(Buffer.from([0x2e, 0x2e, 0x2f, 0xff, 0x1b, 0x63])), Buffer.alloc(1024)]));
  const idx = join(s.dir, 'refused.index.tar');
  ok(await dtar(['ingest', crafted, '-o', idx, '--quiet'], { env: s.env }), 'ingest');
  const target = join(s.dir, 'refused-target');
  const r = await dtar(['extract', idx, '-C', target, '--quiet'], { env: s.env });
  assert.equal(r.code, 2);
  const text = assertHarmless(r.stderrBytes, 'extract');
  assert.match(text, /^dtar: refusing "\.\.\/\\033\]0;x\\a": it has a "\.\." component/m);
  assert.match(text, /^dtar: refusing "\.\.\/\\377\\033c": it has a "\.\." component/m);
  assert.deepEqual(await readdir(target), []);
});
