// The vmhop of an earlier commit, built beside this checkout for the rolling-upgrade test: the
// commit's tree (git archive) under .cache/vmhop-builds/<commit>, this checkout's node_modules
// linked in, compiled with tsconfig.build.json (the agent and the CLI, no web UI). Built once
// per commit: a finished build is marked and reused.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../src/repo/paths.js';

/** The build's root (give it to runAgentBuild) and how long it took (0 when cached). */
export async function buildOfCommit(commit: string): Promise<{ root: string; builtMs: number }> {
  const root = join(REPO_ROOT, '.cache', 'vmhop-builds', commit);
  const done = join(root, '.built');
  if (existsSync(done)) return { root, builtMs: 0 };
  const t0 = Date.now();
  try {
    execFileSync('git', ['-C', REPO_ROOT, 'cat-file', '-e', `${commit}^{commit}`], { stdio: 'ignore' });
  } catch {
    throw new Error(
      `commit ${commit} is not in this clone (a shallow clone?): fetch the full history to build the previous vmhop`,
    );
  }
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  const tar = execFileSync('git', ['-C', REPO_ROOT, 'archive', '--format=tar', commit], {
    maxBuffer: 256 * 1024 * 1024,
  });
  execFileSync('tar', ['-x', '-C', root], { input: tar });
  await symlink(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
  execFileSync(
    process.execPath,
    [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  await writeFile(done, `${new Date().toISOString()}\n`);
  return { root, builtMs: Date.now() - t0 };
}
