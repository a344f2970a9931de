/**
 * Publishing a file atomically: written under a temporary name beside its destination,
 * fsynced, then renamed, so that a reader never sees half a file under the final name.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { systemErrorReason, UsageError } from '../errors';

export interface TempFile {
  path: string;
  handle: FileHandle;
  /** Renames into place (or, with no destination, leaves it for the caller) and syncs. */
  publish(): Promise<void>;
  discard(): Promise<void>;
}

/**
 * Temporary files not yet published or discarded. Interrupted (Ctrl-C, kill), the command
 * does not get to discard them: they are removed on the signal, which then takes its
 * usual course, so no half-written `.NAME.*.tmp` is left beside the file asked for.
 */
const pending = new Set<string>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function onSignal(signal: NodeJS.Signals): void {
  for (const p of pending) rmSync(p, { force: true });
  pending.clear();
  untrack();
  process.kill(process.pid, signal);
}

function track(path: string): void {
  if (pending.size === 0) for (const s of SIGNALS) process.on(s, onSignal);
  pending.add(path);
}

function untrack(path?: string): void {
  if (path !== undefined) pending.delete(path);
  if (pending.size === 0) for (const s of SIGNALS) process.off(s, onSignal);
}

export async function tempFileFor(destination: string | null): Promise<TempFile> {
  const dir = destination ? dirname(destination) : tmpdir();
  const path = join(dir, `.${destination ? basename(destination) : 'dtar-index'}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(path, 'wx+', 0o600).catch((e: unknown) => {
    // The temporary name would only puzzle: name the file asked for.
    const reason = systemErrorReason(e);
    throw reason === null ? e : new UsageError(`cannot write ${destination ?? path}: ${reason}`);
  });
  track(path);
  let closed = false;
  const close = async (): Promise<void> => {
    if (!closed) {
      closed = true;
      await handle.close();
    }
  };
  return {
    path,
    handle,
    async publish() {
      await handle.sync();
      await close();
      if (destination) {
        await rename(path, destination);
        untrack(path);
        const d = await open(dirname(destination), 'r');
        try {
          await d.sync();
        } finally {
          await d.close();
        }
      }
    },
    async discard() {
      await close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      untrack(path);
    },
  };
}
