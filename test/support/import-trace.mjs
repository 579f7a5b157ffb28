// `node --import <this file> …` with IMPORT_TRACE=<file>: appends the URL of every ES module the
// process loads to that file, one a line, as it loads — so a test can tell what a command imported
// (e.g. that `trib --help` from dist never loaded tsx).
import { register } from 'node:module';

const file = process.env.IMPORT_TRACE;
if (file) {
  const hooks = `import fs from 'node:fs';
export async function load(url, context, next) {
  fs.appendFileSync(${JSON.stringify(file)}, url + '\\n');
  return next(url, context);
}`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}
