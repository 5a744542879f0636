// The version `vmhop --version` and `vmhop-agent --version` print: read at run time from the package.json of the installed
// package (found from this file's location, as REPO_ROOT is), so a release never needs an edit here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}
