// Runs the real `vmhop ui` (the built CLI, as an administrator would) on a free loopback
// port for the UI tests, and stops it afterwards. It uses the hosts file the test bed wrote,
// or the one `env` names.
import { execa, type ResultPromise } from 'execa';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../src/repo/paths.js';

const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

export interface UiServer {
  url: string;
  stop: () => Promise<void>;
}

/** `env`: more environment for `vmhop ui` (e.g. VMHOP_HOSTS, another hosts file). */
export async function startUi(
  port = 18080 + Math.floor(Math.random() * 1000),
  env: Record<string, string> = {},
): Promise<UiServer> {
  const child: ResultPromise = execa(process.execPath, [CLI, 'ui', '--listen', `127.0.0.1:${port}`], {
    env,
    reject: false,
    stdout: 'ignore',
    stderr: 'pipe',
  });
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`vmhop ui did not start: ${err}`)), 20_000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /vmhop ui: (http:\/\/\S+)/.exec(err);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void child.then((r) => reject(new Error(`vmhop ui exited (${r.exitCode}): ${err}`)));
  });
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await child;
    },
  };
}
