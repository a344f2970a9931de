/**
 * The S3 test server (s3rver behind the Glacier- and fault-emulating proxy of
 * test/support/s3-server.ts) as a process for bench/s3.sh: creates the bucket named on
 * the command line, prints the endpoint URL on stdout, and serves until SIGTERM.
 */
import { startS3TestServer } from '../test/support/s3-server';

async function main(): Promise<void> {
  const bucket = process.argv[2] ?? 'bench';
  const server = await startS3TestServer();
  await server.createBucket(bucket);
  process.stdout.write(`${server.endpoint}\n`);
  const stop = (): void => {
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The request log is for tests; a benchmark would only grow it.
  setInterval(() => server.clearRequests(), 10_000);
}

main().catch((e: unknown) => {
  process.stderr.write(`s3-server: ${String(e)}\n`);
  process.exit(1);
});
