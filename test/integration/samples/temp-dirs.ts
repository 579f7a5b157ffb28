/** Test helpers: a temp directory per test file (removed afterwards) and byte-exact directory reads. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/** Registers beforeAll/afterAll for a fresh temp dir; call the returned function inside tests. */
export function useTempDir(label: string): () => string {
  let dir = '';
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), `tributary-samples-${label}-`));
  });
  afterAll(async () => fs.rm(dir, { recursive: true, force: true }));
  return () => dir;
}

/** Every file of a directory by name, for byte-for-byte comparison of two generator runs. */
export async function directoryBytes(dir: string): Promise<Map<string, Buffer>> {
  const names = (await fs.readdir(dir)).sort();
  return new Map(await Promise.all(names.map(async (n) => [n, await fs.readFile(path.join(dir, n))] as const)));
}
