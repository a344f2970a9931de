/**
 * Index tars rewritten by someone who can write the file but has no key (issue 20 §1), as
 * that attacker would do it: the first file given the setuid bit (its header checksum, the
 * record's saved size and checksum fields, and the trailer's SHA-256 all recomputed), and
 * two files' contents swapped (their chunk lists and SHA-256). The real commands refuse
 * each with one line, exit 1, and act on nothing: restore writes no byte, extract creates
 * no directory, ls lists nothing, mount does not mount. The same rewrite sealed with the store's key does restore
 * (the forgery is otherwise perfect: only the MAC stops it).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { OWNER_SEALER } from '../../src/index/seal';
import { Repository } from '../../src/repo/repository';
import { LocalBackend } from '../../src/store/local';
import { dtar, ok, testStore, type TestStore } from '../support/dtar';
import { parseIndex, Parsed, reseal, setuidFirst, swapContents } from '../support/forge';
import { assertOneLineError } from './support';

const PASSPHRASE = 'forgery test';
const NOT_AUTHENTIC = (file: string): RegExp => new RegExp(`^dtar: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not an authentic index of this store; .*'dtar archives get ID -o FILE'\\n$`);

describe('indexes rewritten without the key', () => {
  let s: TestStore;
  let index: string;
  let bytes: Buffer;
  let parsed: Parsed;
  let macKey: Buffer;

  before(async () => {
    s = await testStore(PASSPHRASE);
    const src = join(s.dir, 'src');
    await mkdir(join(src, 'd'), { recursive: true });
    await writeFile(join(src, 'd', 'a-program'), 'echo harmless\n'.repeat(100), { mode: 0o755 });
    await writeFile(join(src, 'd', 'b-public'), Buffer.alloc(3000, 'p'));
    await writeFile(join(src, 'd', 'c-secret'), Buffer.alloc(3000, 's'));
    const tar = join(s.dir, 'in.tar');
    execFileSync('tar', ['--format=gnu', '--sort=name', '-cf', tar, '-C', src, 'd']);
    ok(await dtar(['init', '--quiet'], { env: s.env }), 'init');
    index = join(s.dir, 'real.idx');
    ok(await dtar(['ingest', tar, '-o', index, '--quiet'], { env: s.env }), 'ingest');
    bytes = await readFile(index);
    parsed = await parseIndex(bytes);
    macKey = (await Repository.open(new LocalBackend(s.store), PASSPHRASE, null)).indexAuth.sealerKey(OWNER_SEALER);
  });
  after(() => s.cleanup());

  /** Every command that reads the index, on `file`: each refuses in one line, exit 1, and acts on nothing. */
  async function refusedEverywhere(file: string): Promise<void> {
    const pattern = NOT_AUTHENTIC(file);
    const restored = await dtar(['restore', file], { env: s.env });
    assertOneLineError(restored, 1, pattern, 'restore');
    assert.equal(restored.stdout.length, 0, 'restore writes no byte');
    const out = join(s.dir, 'restored.tar');
    assertOneLineError(await dtar(['restore', file, '-o', out], { env: s.env }), 1, pattern, 'restore -o');
    await assert.rejects(access(out), 'restore -o publishes nothing');
    assertOneLineError(await dtar(['verify', '--read-data', file], { env: s.env }), 1, pattern, 'verify --read-data');
    assertOneLineError(await dtar(['verify', file], { env: s.env }), 1, pattern, 'verify');
    const dir = join(s.dir, 'extracted');
    assertOneLineError(await dtar(['extract', file, '-C', dir], { env: s.env }), 1, pattern, 'extract');
    await assert.rejects(access(dir), 'extract creates nothing, not even its directory');
    const listed = await dtar(['ls', '-l', file], { env: s.env });
    assertOneLineError(listed, 1, pattern, 'ls');
    assert.equal(listed.stdout.length, 0, 'ls lists nothing');
    const cat = await dtar(['cat', file, 'd/b-public'], { env: s.env });
    assertOneLineError(cat, 1, pattern, 'cat');
    assert.equal(cat.stdout.length, 0);
    assertOneLineError(await dtar(['stats', file], { env: s.env }), 1, pattern, 'stats');
    assertOneLineError(await dtar(['thaw', '--dry-run', file], { env: s.env }), 1, pattern, 'thaw');
    const mountpoint = join(s.dir, 'mnt');
    await mkdir(mountpoint, { recursive: true });
    assertOneLineError(await dtar(['mount', file, mountpoint], { env: s.env }), 1, pattern, 'mount (refused before it mounts)');
  }

  test('the first file made setuid, every checksum recomputed: refused by every command', async () => {
    const body = setuidFirst(bytes, parsed);
    const forged = join(s.dir, 'setuid.idx');
    await writeFile(forged, reseal(parsed, body));
    await refusedEverywhere(forged);

    // The same bytes sealed with the key restore a setuid file: only the MAC told them apart.
    const sealed = join(s.dir, 'setuid-sealed.idx');
    await writeFile(sealed, reseal(parsed, body, macKey));
    const r = ok(await dtar(['restore', sealed], { env: s.env }), 'restore of the sealed rewrite');
    const first = r.stdout.subarray(512, 1024); // after the directory d/
    assert.equal(first.subarray(0, 11).toString(), 'd/a-program');
    assert.equal(parseInt(first.subarray(100, 108).toString('latin1'), 8) & 0o4000, 0o4000, 'the rewrite is a working one');
  });

  test("two files' contents swapped: refused by every command", async () => {
    const body = swapContents(bytes, parsed, 'd/b-public', 'd/c-secret');
    const forged = join(s.dir, 'swapped.idx');
    await writeFile(forged, reseal(parsed, body));
    await refusedEverywhere(forged);

    const sealed = join(s.dir, 'swapped-sealed.idx');
    await writeFile(sealed, reseal(parsed, body, macKey));
    const cat = ok(await dtar(['cat', sealed, 'd/b-public'], { env: s.env }), 'cat of the sealed rewrite');
    assert.ok(cat.stdout.equals(Buffer.alloc(3000, 's')), 'the rewrite is a working one');
  });

  test('a damaged index is still told apart from a rewritten one', async () => {
    const damaged = Buffer.from(bytes);
    damaged[parsed.files[1]!.record + 40]! ^= 1;
    const file = join(s.dir, 'damaged.idx');
    await writeFile(file, damaged);
    assertOneLineError(await dtar(['restore', file], { env: s.env }), 2, /damaged\.idx is damaged: its contents do not match the checksum in its trailer/, 'restore');
  });
});
