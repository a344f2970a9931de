/** Reading a secret from the terminal without echoing it. */
import type { Readable, Writable } from 'node:stream';

export function askHidden(input: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => void }, output: Writable, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    output.write(prompt);
    let text = '';
    input.setRawMode?.(true);
    input.resume();
    const finish = (err: Error | null): void => {
      input.setRawMode?.(false);
      input.pause();
      input.off('data', onData);
      output.write('\n');
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (buf: Buffer): void => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish(null);
        if (ch === '\u0003') return finish(new Error('interrupted'));
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else text += ch;
      }
    };
    input.on('data', onData);
  });
}
