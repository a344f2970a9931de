/** A one-line progress display for a terminal: bytes done, rate, and with a total, percent and time left. */
import type { Writable } from 'node:stream';
import type { Progress } from '../commands/context';
import { formatBytes } from '../commands/format';

export const silentProgress: Progress = { update: () => undefined, done: () => undefined };

export function terminalProgress(out: Writable, label: string): Progress {
  const start = Date.now();
  let last = 0;
  let shown = false;
  return {
    update(done, total, detail) {
      const now = Date.now();
      if (now - last < 250) return;
      last = now;
      const secs = Math.max((now - start) / 1000, 0.001);
      const rate = done / secs;
      let line = `${label}: ${formatBytes(done)}`;
      if (total) {
        const pct = Math.min(100, (100 * done) / total);
        const left = rate > 0 ? Math.max(0, (total - done) / rate) : 0;
        line += ` of ${formatBytes(total)} (${pct.toFixed(1)}%), ${Math.round(left)} s left`;
      }
      line += `, ${formatBytes(rate)}/s`;
      if (detail) line += `, ${detail}`;
      out.write(`\r\x1b[K${line}`);
      shown = true;
    },
    done() {
      if (shown) out.write('\r\x1b[K');
      shown = false;
    },
  };
}
