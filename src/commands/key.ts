/**
 * `dtar key passwd`: change the passphrase. The master secret is wrapped again under the
 * new passphrase into a new key file, which is checked to open before the old key file is
 * removed; no data is re-encrypted. The new passphrase comes from DTAR_NEW_PASSWORD_FILE,
 * DTAR_NEW_PASSWORD or the terminal (asked twice).
 * `dtar key export-writer -o FILE`: a writer key for a machine that is to back up without
 * the passphrase (src/repo/writer-key.ts). It first gives every catalogue segment the lookup
 * that writer keys deduplicate through (segments written before version 2 have none).
 * `dtar key revoke-writer WRITER`: ingest with that writer key is refused from then on
 * (src/repo/revocation.ts says what that does and does not stop).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { jsonText, UsageError } from '../errors';
import { changePassphrase, readConfig, unlock } from '../repo/repository';
import { revokeWriter } from '../repo/revocation';
import { encodeWriterKey, newWriterKey, parseWriterKey } from '../repo/writer-key';
import { backendFor, Io, kdfLogN, openRepository, passphrase, StoreFlags, storeLocation, warner } from './context';
import { addStoreOptions } from './options';
import { writeOutputFile } from '../fs/output-file';

interface KeyFlags extends StoreFlags {
  quiet?: boolean;
  json?: boolean;
}

interface ExportFlags extends KeyFlags {
  output?: string;
}

async function newPassphrase(io: Io): Promise<string> {
  const file = io.env.DTAR_NEW_PASSWORD_FILE;
  if (file) {
    const p = (await readFile(file, 'utf8').catch(() => {
      throw new UsageError(`cannot read DTAR_NEW_PASSWORD_FILE ${file}`);
    })).replace(/\r?\n$/, '');
    if (p === '') throw new UsageError(`DTAR_NEW_PASSWORD_FILE ${file} is empty`);
    return p;
  }
  if (io.env.DTAR_NEW_PASSWORD) return io.env.DTAR_NEW_PASSWORD;
  if (!io.stdinIsTTY) throw new UsageError('no new passphrase: set DTAR_NEW_PASSWORD_FILE or DTAR_NEW_PASSWORD, or run on a terminal to be asked');
  const p = await io.askHidden('new passphrase: ');
  if (p === '') throw new UsageError('empty passphrase');
  if ((await io.askHidden('new passphrase again: ')) !== p) throw new UsageError('the passphrases do not match');
  return p;
}

export async function keyPasswdCommand(io: Io, flags: KeyFlags): Promise<{ removed: string; added: string }> {
  const backend = backendFor(io, flags);
  const config = await readConfig(backend);
  const storeId = config.id;
  const old = await passphrase(io);
  const found = await unlock(backend, old, config, warner(io));
  const fresh = await newPassphrase(io);
  if (fresh === old) throw new UsageError('the new passphrase is the same as the old one');
  const added = await changePassphrase(backend, found, fresh, storeId, kdfLogN(io));
  return { removed: found.key, added };
}

export async function keyExportWriterCommand(io: Io, flags: ExportFlags): Promise<{ sealer: string; output: string }> {
  const output = flags.output;
  if (!output) throw new UsageError('give -o FILE: a writer key is a secret, written only to a file of its own');
  const repo = await openRepository(io, flags);
  await (await repo.catalogue()).addLookups();
  const key = newWriterKey(repo.config, repo.keys, storeLocation(io, flags));
  await writeOutputFile(output, (handle) => handle.write(encodeWriterKey(key)));
  return { sealer: key.sealer, output };
}

/** Revokes a writer key, named by its file or its sealer ("writer:<16 hex>"); needs the passphrase. */
export async function keyRevokeWriterCommand(io: Io, writer: string, flags: KeyFlags): Promise<{ sealer: string; revoked: boolean }> {
  let sealer = writer;
  if (!/^writer:[0-9a-f]{16}$/.test(writer)) {
    const bytes = await readFile(writer).catch(() => {
      throw new UsageError(`${writer} is neither a writer key file nor a writer's name (writer:<16 hex digits>)`);
    });
    sealer = parseWriterKey(bytes, writer).sealer;
  }
  const repo = await openRepository(io, flags);
  return { sealer, revoked: await revokeWriter(repo.backend, sealer) };
}

export function register(program: Command, io: Io): void {
  const key = program.command('key').description('manage the passphrase of the store, and writer keys');
  addStoreOptions(
    key
      .command('passwd')
      .description('change the passphrase without re-encrypting any data')
      .addHelpText(
        'after',
        '\nThe current passphrase comes from DTAR_PASSWORD_FILE, DTAR_PASSWORD or the terminal; the new one\nfrom DTAR_NEW_PASSWORD_FILE, DTAR_NEW_PASSWORD or the terminal (asked twice).\n\nThe master key stays the same: any copy of the old key file (an S3 object version, a replica,\na backup of the store) still opens with the old passphrase. After a leak, move the backups to a\nnew store instead (docs/COMMANDS.md, "key passwd").\n\nExamples:\n  dtar key passwd\n  DTAR_PASSWORD_FILE=old.txt DTAR_NEW_PASSWORD_FILE=new.txt dtar key passwd --store s3://bucket/backups',
      ),
    { cacheDir: false },
  ).action(async (flags: KeyFlags) => {
    const r = await keyPasswdCommand(io, flags);
    if (flags.json) io.stdout.write(jsonText(r) + '\n');
    else if (!flags.quiet) io.stderr.write(`passphrase changed: wrote ${r.added}, removed ${r.removed}\n`);
  });
  addStoreOptions(
    key
      .command('export-writer')
      .description('write a writer key: for a machine that is to back up into the store without the passphrase')
      .option('-o, --output <FILE>', 'write the writer key here (created 0600)')
      .addHelpText(
        'after',
        '\nA writer key opens nothing in the store: it holds the store\'s public key, the keys that cut and\nidentify chunks, and the key that authenticates the indexes it writes (docs/FORMAT.md §3).\nOn the machine that backs up: dtar ingest --key-file FILE (or DTAR_KEY_FILE=FILE), no passphrase.\n\nExamples:\n  dtar key export-writer -o backup-host.writer.key',
      ),
  ).action(async (flags: ExportFlags) => {
    const r = await keyExportWriterCommand(io, flags);
    if (flags.json) io.stdout.write(jsonText(r) + '\n');
    else if (!flags.quiet) io.stderr.write(`wrote writer key ${r.sealer} to ${r.output}\n`);
  });
  addStoreOptions(
    key
      .command('revoke-writer')
      .argument('<WRITER>', 'the writer key file, or its name as export-writer printed it (writer:<16 hex digits>)')
      .description('refuse ingest with a writer key from now on')
      .addHelpText(
        'after',
        '\nIngest with that writer key then stops with an error. This stops a machine that still runs\ndtar with the key; it cannot stop a thief who has the key and the store\'s credentials: revoke\nthose credentials too (docs/S3.md, "A writer machine").\n\nExamples:\n  dtar key revoke-writer backup-host.writer.key\n  dtar key revoke-writer writer:0123456789abcdef',
      ),
  ).action(async (writer: string, flags: KeyFlags) => {
    const r = await keyRevokeWriterCommand(io, writer, flags);
    if (flags.json) io.stdout.write(jsonText(r) + '\n');
    else if (!flags.quiet) io.stderr.write(r.revoked ? `revoked writer key ${r.sealer}\n` : `writer key ${r.sealer} was already revoked\n`);
  });
}
