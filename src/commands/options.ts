/** Options shared by every command that opens a store. */
import type { Command } from 'commander';

/** Which of the shared options beyond the store's own a command implements (all unless set false). */
export interface Offers {
  /** --cache-dir: where the catalogue and other caches of the store live. */
  cacheDir?: boolean;
  /** -q, --quiet: the command writes progress or a summary on stderr. */
  quiet?: boolean;
  /** --json: the command has machine-readable output. */
  json?: boolean;
}

export function addStoreOptions(cmd: Command, offers: Offers = {}): Command {
  cmd
    .option('--store <URL>', 'the store: a directory, file:// or s3://BUCKET/PREFIX (default: $DTAR_STORE, the store the index names, or ~/.local/share/dtar/store)')
    .option('--s3-endpoint <URL>', 'S3 endpoint (default: $AWS_ENDPOINT_URL or AWS)')
    .option('--s3-region <REGION>', 'S3 region (default: $AWS_REGION or us-east-1)')
    .option('--s3-path-style', 'path-style S3 addressing (automatic for IP and localhost endpoints)');
  if (offers.cacheDir !== false) cmd.option('--cache-dir <DIR>', 'local cache directory (default: ~/.cache/dtar)');
  if (offers.quiet !== false) cmd.option('-q, --quiet', 'no progress or summary on stderr');
  if (offers.json !== false) cmd.option('--json', 'machine-readable output');
  return cmd;
}
