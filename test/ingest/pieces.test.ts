/**
 * Ingest reads its input file through two reused buffers (tar/file-bytes.ts), and every
 * other buffer on its way (batches, chunker windows, brick buffers, exported chunks) is
 * reused too. If anything kept a view of a reused buffer instead of copying it, later data
 * would overwrite what it kept: so every corpus archive ingested through small pieces,
 * which split headers, bodies and padding every which way, must restore byte for byte.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ingestTar } from '../../src/ingest/ingest';
import { ownerTarget } from '../../src/ingest/target';
import { tarInput } from '../../src/tar/compression';
import { Repository } from '../../src/repo/repository';
import { LocalBackend } from '../../src/store/local';
import { fileBytes } from '../../src/tar/file-bytes';
import { buildCorpus, Corpus, defaultCorpusDir } from '../fixtures/corpus';
import { dtar, ok, testStore, TestStore } from '../support/dtar';

let corpus: Corpus;
let s: TestStore;
let repo: Repository;

before(async () => {
  corpus = await buildCorpus(defaultCorpusDir());
  s = await testStore();
  ok(await dtar(['init'], { env: s.env }), 'init');
  repo = await Repository.open(new LocalBackend(s.env.DTAR_STORE!), s.env.DTAR_PASSWORD!, null);
});
after(() => s.cleanup());

/** Files past the chunker's 4 MiB window, so that chunks carry over from one window to the next. */
async function largeFilesArchive(): Promise<{ name: string; path: string }> {
  const dir = join(s.dir, 'large');
  await mkdir(dir);
  const half = randomBytes(5 * 1024 * 1024);
  await writeFile(join(dir, 'random-9m'), randomBytes(9 * 1024 * 1024 + 77));
  await writeFile(join(dir, 'twice'), Buffer.concat([half, half])); // chunks repeat within one file
  for (let i = 0; i < 20; i++) await writeFile(join(dir, `small-${i}`), randomBytes(1 + i * 37_000));
  const path = join(s.dir, 'large.tar');
  execFileSync('tar', ['--format=gnu', '-C', dir, '-cf', path, '.']);
  return { name: 'large', path };
}

test('archives ingested from small reused pieces restore byte for byte', async () => {
  const plain: { name: string; path: string }[] = corpus.archives.filter((a) => !a.compressed);
  assert.ok(plain.length >= 6);
  plain.push(await largeFilesArchive());
  for (const a of plain) {
    // 4099: pieces end mid-block; 700: a header spans two pieces.
    for (const pieceBytes of [4099, 700]) {
      const index = join(s.dir, `${a.name}.${pieceBytes}.idx`);
      const out = await open(index, 'w');
      try {
        await ingestTar(await ownerTarget(repo), tarInput(fileBytes(await open(a.path, 'r'), { pieceBytes })), { handle: out, path: index, publish: async () => undefined }, { name: a.name, storeLocation: s.env.DTAR_STORE!, level: 3, maxUploads: 1, threads: 2 });
      } finally {
        await out.close();
      }
      const back = ok(await dtar(['restore', index], { env: s.env }), 'restore').stdout;
      assert.ok(back.equals(await readFile(a.path)), `${a.name} in pieces of ${pieceBytes} restores identically`);
    }
  }
});
