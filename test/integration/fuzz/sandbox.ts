// The fuzzer's temp area beside the agents' own folders: decoys a traversing path could reach
// (`outside/victim`, a fake `etc/passwd` reached through `dev/..`).
// Snapshots before and after a run show that nothing outside the agents'
// data and run folders and the pool directories was made, changed or removed.
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesUnder } from '../helpers/peer-tls.js';

export interface Sandbox {
  root: string;
  cleanup(): Promise<void>;
}

export async function makeSandbox(): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), 'vmhop-fuzz-'));
  await mkdir(join(root, 'outside'), { recursive: true });
  await writeFile(join(root, 'outside', 'victim'), 'precious, not a disk\n'.repeat(100));
  await mkdir(join(root, 'dev'), { recursive: true });
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc', 'passwd'), 'root:x:0:0:decoy:/root:/bin/sh\n');
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Size and SHA-256 of every file outside the state and pool folders, keyed by a readable name. */
export async function outsideFiles(sb: Sandbox, agentRoots: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(await filesUnder(sb.root))) out[`sandbox/${k}`] = v;
  for (const [i, r] of agentRoots.entries()) {
    for (const [k, v] of Object.entries(await filesUnder(r, ['data', 'run']))) out[`agent${i}/${k}`] = v;
  }
  return out;
}

/** Size and mtime of every file in an agent's state folders (data, run): what a run changed there. */
export async function stateFiles(dirs: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string, rel: string) => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(join(dir, e.name), r);
      else {
        const s = await stat(join(dir, e.name)).catch(() => undefined);
        if (s) out[r] = `${s.size} ${s.mtimeMs}`;
      }
    }
  };
  for (const d of dirs) await walk(d, d);
  return out;
}

export function diff(before: Record<string, string>, after: Record<string, string>) {
  const created = Object.keys(after).filter((k) => !(k in before));
  const removed = Object.keys(before).filter((k) => !(k in after));
  const changed = Object.keys(after).filter((k) => k in before && before[k] !== after[k]);
  return { created, removed, changed };
}
