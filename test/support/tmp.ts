/**
 * Temporary directories for tests, removed by the returned cleanup function.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

export interface TempDir {
  path: string;
  cleanup(): Promise<void>;
}

export async function makeTempDir(label: string): Promise<TempDir> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `dtar-${label}-`));
  return { path: dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
