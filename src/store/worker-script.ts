// Where a store's worker thread script is: next to the module that starts it when that module
// runs from the build, or, when it runs from the sources (the tests do), at the same place in dist/.

import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StoreOpenError } from './data-dir.js';

/** The compiled `name` (e.g. "worker.js") beside the module at `moduleUrl`; throws StoreOpenError when there is none. */
export function workerScript(moduleUrl: string, name: string): string {
  const here = dirname(fileURLToPath(moduleUrl));
  const sibling = join(here, name);
  if (existsSync(sibling)) return sibling;
  const src = here.lastIndexOf(`${sep}src${sep}`);
  if (src >= 0) {
    const built = join(here.slice(0, src), 'dist', here.slice(src + 1), name);
    if (existsSync(built)) return built;
  }
  throw new StoreOpenError(`store ${name} not found next to ${here}; run \`npm run build\` first`);
}
