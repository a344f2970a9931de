/**
 * Dependencies point one way, down the layers of docs/ARCHITECTURE.md ("Layers and code
 * map"): every relative import in src/ is read, and an import of a higher layer fails the
 * test, as do a cycle between folders of one layer, a command file that imports another
 * command, and a folder in no layer (place it in the table here and in the document).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

/** Top to bottom, as in docs/ARCHITECTURE.md. */
const LAYERS: readonly (readonly string[])[] = [
  ['cli'],
  ['commands'],
  ['ingest', 'restore', 'archive', 'mount', 'extract', 'cat', 'verify', 'thaw', 'stats', 'retention', 'index-source', 'selection'],
  ['pricing'],
  ['read'],
  ['repo'],
  ['index', 'tar'],
  ['catalogue', 'brick', 'chunk', 'crypto'],
  ['store'],
  ['fs'],
  ['errors'],
];

// Compiled to dist/test/, run from there; the sources are read, not the compiled files.
const SRC = resolve(__dirname, '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? sourceFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : []));
}

interface Import {
  from: string;
  to: string;
}

/** Every relative import (static, dynamic or type-only) of every source file, as paths below src/. */
function imports(): Import[] {
  const out: Import[] = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
      out.push({ from: relative(SRC, file), to: relative(SRC, resolve(dirname(file), m[1]!)) });
    }
  }
  return out;
}

const folder = (path: string): string => path.split('/')[0]!;

function layerOf(f: string): number {
  const i = LAYERS.findIndex((l) => l.includes(f));
  assert.notEqual(i, -1, `src/${f}/ is in no layer: place it in docs/ARCHITECTURE.md and in test/layers.test.ts`);
  return i;
}

test('no folder imports a folder of a higher layer', () => {
  const up = imports()
    .filter((i) => folder(i.from) !== folder(i.to) && layerOf(folder(i.to)) < layerOf(folder(i.from)))
    .map((i) => `src/${i.from} imports src/${i.to}`);
  assert.deepEqual(up, []);
});

test('folders of one layer do not import each other in a cycle', () => {
  const edges = new Map<string, Set<string>>();
  for (const i of imports()) {
    const [a, b] = [folder(i.from), folder(i.to)];
    if (a !== b && layerOf(a) === layerOf(b)) edges.set(a, (edges.get(a) ?? new Set()).add(b));
  }
  const reaches = (from: string, to: string, seen = new Set<string>()): boolean =>
    [...(edges.get(from) ?? [])].some((n) => n === to || (!seen.has(n) && (seen.add(n), reaches(n, to, seen))));
  const cycles = [...edges.keys()].filter((f) => reaches(f, f));
  assert.deepEqual(cycles, []);
});

test('no command imports another command', () => {
  const isCommand = (path: string): boolean => folder(path) === 'commands' && /export function register\(/.test(readFileSync(join(SRC, path), 'utf8'));
  const crossed = imports()
    .filter((i) => isCommand(i.from) && folder(i.to) === 'commands' && isCommand(`${i.to}.ts`))
    .map((i) => `src/${i.from} imports src/${i.to}`);
  assert.deepEqual(crossed, []);
});
