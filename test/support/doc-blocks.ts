/**
 * A docs page's runnable code blocks, in page order, by their info string:
 *   ```ts file=dags/x.ts      a file to write (relative to the project)
 *   ```ts append=kinds/x.ts   text to append to a file written before
 *   ```sh run                 commands to run in the project, one per line
 *   ```sh init                the commands that make the project (run by the test set-up)
 *   ```sql run                SQL to run on the project's database
 *   ```text output            what the `sh run` block before it prints
 * Other blocks (plain ```sh, ```csv without file=, …) are prose and not run.
 */
export type DocBlock =
  | { kind: 'file'; path: string; text: string }
  | { kind: 'append'; path: string; text: string }
  | { kind: 'run' | 'init'; lines: string[] }
  | { kind: 'sql'; text: string }
  | { kind: 'output'; text: string };

export function docBlocks(markdown: string): DocBlock[] {
  const blocks: DocBlock[] = [];
  for (const m of markdown.matchAll(/^```(\w+)([^\n]*)\n([\s\S]*?)^```$/gm)) {
    const [lang, info, text] = [m[1], m[2].trim(), m[3]];
    const file = /^(file|append)=(\S+)$/.exec(info);
    if (file) blocks.push({ kind: file[1] as 'file' | 'append', path: file[2], text });
    else if (lang === 'sh' && (info === 'run' || info === 'init')) {
      blocks.push({ kind: info, lines: text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')) });
    } else if (lang === 'sql' && info === 'run') blocks.push({ kind: 'sql', text });
    else if (lang === 'text' && info === 'output') blocks.push({ kind: 'output', text });
  }
  return blocks;
}
