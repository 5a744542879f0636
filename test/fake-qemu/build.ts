// Makes the fake QEMU an executable the agent can run as its `qemuBinary`: main.ts and what it
// imports bundled by rolldown (Vite's bundler, already installed) into one ES module in a temp
// directory, and beside it `qemu-system-x86_64`, a two-line shell script that runs it with this
// Node. The name matters: the agent and the tests recognise a QEMU by /qemu-system/ in argv[0].
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'rolldown';

export interface FakeQemu {
  /** Absolute path of the executable. */
  binary: string;
  remove(): Promise<void>;
}

const here = import.meta.dirname;

export async function buildFakeQemu(): Promise<FakeQemu> {
  const dir = await mkdtemp(join(tmpdir(), 'vmhop-fake-qemu-'));
  const bundle = join(dir, 'fake-qemu.mjs');
  await build({
    input: join(here, 'main.ts'),
    platform: 'node',
    logLevel: 'silent',
    // transcript.ts finds the fixtures next to itself: keep its own location in the bundle.
    transform: {
      define: {
        'import.meta.url': JSON.stringify(
          pathToFileURL(resolve(here, '../../src/qmp/testing/transcript.ts')).href,
        ),
      },
    },
    output: { file: bundle, format: 'esm' },
  });
  const binary = join(dir, 'qemu-system-x86_64');
  await writeFile(
    binary,
    `#!/bin/sh\nVMHOP_FAKE_QEMU_ARGV0="$0" exec '${process.execPath}' '${bundle}' "$@"\n`,
  );
  await chmod(binary, 0o755);
  return { binary, remove: () => rm(dir, { recursive: true, force: true }) };
}
