/** A DAG folder for a CLI test: `<base>/<name>` holding the given files and an ESM package.json. */
import fs from 'node:fs/promises';
import path from 'node:path';

export async function dagFolder(base: string, name: string, files: Record<string, string>): Promise<string> {
  const dir = path.join(base, name);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  for (const [file, text] of Object.entries(files)) await fs.writeFile(path.join(dir, file), text);
  return dir;
}
