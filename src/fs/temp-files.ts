/**
 * Temporary files that a signal must not leave behind: an index written beside its
 * destination, an object being written into a local store. Each is listed from just before
 * it is created until it is renamed into place or removed. Interrupted (Ctrl-C, kill, a
 * closed terminal), a command does not get to clean up: the files still listed are removed
 * on the signal, which then takes its usual course (the process ends by it).
 */
import { rmSync } from 'node:fs';

const pending = new Set<string>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function onSignal(signal: NodeJS.Signals): void {
  for (const p of pending) rmSync(p, { force: true });
  pending.clear();
  listen(false);
  process.kill(process.pid, signal);
}

function listen(on: boolean): void {
  for (const s of SIGNALS) {
    if (on) process.on(s, onSignal);
    else process.off(s, onSignal);
  }
}

/** Lists `path` for removal on a signal; call it before the file is created. */
export function trackTemp(path: string): void {
  if (pending.size === 0) listen(true);
  pending.add(path);
}

/** The file was renamed into place or removed: a signal leaves it alone now. */
export function untrackTemp(path: string): void {
  if (!pending.delete(path)) return;
  if (pending.size === 0) listen(false);
}
