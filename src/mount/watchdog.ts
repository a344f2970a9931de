/**
 * The watchdog that takes a mount down when its process dies without unmounting (SIGKILL,
 * a crash, the OOM killer). fusermount3's auto_unmount cannot: it unmounts only when opening
 * the mount point fails with ENOTCONN, and with no-opendir (the kernel opens directories
 * without asking us, native-notes/fuse.md) that open succeeds on a dead mount.
 *
 * It is a /bin/sh, not a second Node: started detached (its own session, so Ctrl-C and a
 * closed terminal do not reach it), it reads a pipe whose only writer is the mount process.
 * The mount process writes the mount's device once mounted and "done" once unmounted; the
 * pipe ends at EOF whenever the process ends, however it ends. EOF without "done" means the
 * mount may be dead, and the watchdog unmounts it (lazily) only if the topmost mount at the
 * mount point is still a dtar mount on that device and it does not answer a statfs (which
 * always goes to the process serving it): a mount that took the mount point over meanwhile,
 * even on a reused device number, answers, and is left alone.
 */
import { ChildProcess, spawn } from 'node:child_process';

/** $1: the mount point; $2: as /proc/self/mountinfo spells it. Input: the device, then "done". */
const SCRIPT = `dev=
while IFS= read -r line; do
  case $line in
    done) exit 0 ;;
    *) dev=$line ;;
  esac
done
[ -n "$dev" ] || exit 0
top=
while read -r _ _ d _ m rest; do
  [ "$m" = "$2" ] && top="$d $rest"
done < /proc/self/mountinfo
case $top in
  "$dev "*" - fuse.dtar "*) ;;
  *) exit 0 ;;
esac
stat -f -- "$1" > /dev/null 2>&1 && exit 0
fusermount3 -u -z "$1" 2> /dev/null || umount -l "$1" 2> /dev/null
`;

/** The name the watchdog runs under (its $0), as `ps` shows it. */
export const WATCHDOG_NAME = 'dtar-watchdog';

/** A path as the kernel writes it in /proc/self/mountinfo (space, tab, newline and backslash in octal). */
export function mountinfoPath(path: string): string {
  return path.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

export class Watchdog {
  private child: ChildProcess | null = null;
  private device = '';
  private finished = false;

  /** `mountpoint`: absolute, symlinks resolved (as mountinfo shows it). */
  constructor(private readonly mountpoint: string) {
    this.start();
  }

  /** The mount is up, on this device ("major:minor"). */
  mounted(device: string): void {
    this.device = device;
    this.tell(device);
  }

  /** The mount is gone (or never came): the watchdog exits without touching anything. */
  stop(): void {
    this.finished = true;
    this.tell('done');
    this.child?.stdin?.end();
    this.child = null;
  }

  private start(): void {
    let child: ChildProcess;
    try {
      child = spawn('/bin/sh', ['-c', SCRIPT, WATCHDOG_NAME, this.mountpoint, mountinfoPath(this.mountpoint)], {
        detached: true,
        stdio: ['pipe', 'ignore', 'ignore'],
      });
    } catch {
      return; // no process to spare: the mount serves unwatched (a dead one is cleared by the next mount there)
    }
    // No /bin/sh: likewise.
    child.on('error', () => undefined);
    // Written to after it died: its 'exit' says what to do.
    child.stdin?.on('error', () => undefined);
    // Killed while the mount lives: a new one takes over. (It exits by itself only at EOF.)
    child.on('exit', (_code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      if (signal !== null && !this.finished) this.start();
    });
    child.unref();
    this.child = child;
    if (this.device) this.tell(this.device);
  }

  private tell(line: string): void {
    // A pipe write of a few bytes goes out at once, so it is sent even if the process exits next.
    this.child?.stdin?.write(`${line}\n`);
  }
}
