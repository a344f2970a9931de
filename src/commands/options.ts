/** Options shared by every command that opens a store. */
import type { Command } from 'commander';

export function addStoreOptions(cmd: Command): Command {
  return cmd
    .option('--store <URL>', 'the store: a directory, file:// or s3://BUCKET/PREFIX (default: $DTAR_STORE, the store the index names, or ~/.local/share/dtar/store)')
    .option('--s3-endpoint <URL>', 'S3 endpoint (default: $AWS_ENDPOINT_URL or AWS)')
    .option('--s3-region <REGION>', 'S3 region (default: $AWS_REGION or us-east-1)')
    .option('--s3-path-style', 'path-style S3 addressing (automatic for IP and localhost endpoints)')
    .option('--cache-dir <DIR>', 'local cache directory (default: ~/.cache/dtar)')
    .option('-q, --quiet', 'no progress or summary on stderr')
    .option('--json', 'machine-readable output');
}
