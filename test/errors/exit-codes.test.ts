/**
 * The exit codes users script on: each error's category decides its code, and every error a
 * command can end with keeps the code it had (docs/COMMANDS.md, "Exit codes", is the table).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ArchivedError,
  BackendError,
  BadIndexError,
  BadTarError,
  CorruptDataError,
  DamageFoundError,
  DtarError,
  EXIT_CODES,
  ExtractIncompleteError,
  NewerFormatsLeftError,
  NoPassphraseError,
  NotAuthenticIndexError,
  NotFoundError,
  NotThawedError,
  ObjectExistsError,
  StoreExistsError,
  StoreNotFoundError,
  ThawTimeoutError,
  UnsafePathError,
  UnsupportedFormatError,
  UsageError,
  WrongPassphraseError,
  WrongStoreError,
} from '../../src/errors';

describe('exit codes', () => {
  it('follow from the category: 1 damage, 2 input, 3 store, 4 archived', () => {
    assert.deepEqual(EXIT_CODES, { damage: 1, input: 2, store: 3, archived: 4 });
  });

  it('stay what they were for every error', () => {
    const cases: [DtarError, number][] = [
      [new CorruptDataError('x'), 1],
      [new NotFoundError('k'), 1],
      [new NotAuthenticIndexError('i'), 1],
      [new DamageFoundError('x'), 1],
      [new UsageError('x'), 2],
      [new BadTarError('x', 0), 2],
      [new BadIndexError('x'), 2],
      [new UnsupportedFormatError('x', 9), 2],
      [new NewerFormatsLeftError(1), 2],
      [new NoPassphraseError(), 2],
      [new UnsafePathError('a', 'b'), 2],
      [new ExtractIncompleteError(1, 0), 2],
      [new ExtractIncompleteError(0, 1), 2],
      [new StoreNotFoundError('s'), 3],
      [new StoreExistsError('s'), 3],
      [new ObjectExistsError('k'), 3],
      [new WrongPassphraseError(), 3],
      [new WrongStoreError('x'), 3],
      [new BackendError('x'), 3],
      [new ArchivedError('k'), 4],
      [new NotThawedError('x', 1, 0), 4],
      [new ThawTimeoutError('x'), 4],
    ];
    for (const [e, code] of cases) assert.equal(e.exitCode, code, e.name);
    assert.equal(new NotFoundError('k').withContext('reading').exitCode, 1, 'withContext keeps the code');
  });

  it('ObjectExistsError has a code of its own, not that of an existing store', () => {
    assert.equal(new ObjectExistsError('k').code, 'OBJECT_EXISTS');
  });

  it('are the table in docs/COMMANDS.md', () => {
    const doc = readFileSync(join(__dirname, '../../../docs/COMMANDS.md'), 'utf8');
    const section = /## Exit codes\n([\s\S]*?)\n## /.exec(doc)?.[1] ?? '';
    const rows = [...section.matchAll(/^\| (\d) \| (\w+)/gm)].map((m) => [Number(m[1]), m[2]]);
    const fromCode = Object.entries(EXIT_CODES).map(([category, code]) => [code, category]);
    assert.deepEqual(rows, [[0, 'success'], ...fromCode.sort((a, b) => Number(a[0]) - Number(b[0])), [5, 'internal']]);
  });
});
