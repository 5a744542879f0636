// Where the repository and its caches are, found from this file's own location so the
// CLI, tests and benchmarks agree whether they run from src/ (vitest) or dist/ (node).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'vmhop')
      return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find the vmhop repository root above ' + fileURLToPath(import.meta.url));
}

export const REPO_ROOT = findRepoRoot();
export const GUEST_DIR = join(REPO_ROOT, '.cache', 'guest', 'current');
export const GUEST_PROBE = join(REPO_ROOT, 'scripts', 'guest-probe.mjs');
