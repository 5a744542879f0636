// Test-only: libvirt's own judges of a domain XML. virt-xml-validate checks it against
// libvirt's RelaxNG schema; `virsh -c test:///default define` runs libvirt's parser and
// post-parse checks in libvirt's in-process test driver (no daemon, nothing persists).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why the libvirt checks cannot run here, or undefined when they can. */
export function libvirtToolsMissing(): string | undefined {
  const missing = ['virsh', 'virt-xml-validate', 'xmllint'].filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0,
  );
  if (missing.length === 0) return undefined;
  return `${missing.join(', ')} not installed (apt-get install libvirt-clients libxml2-utils)`;
}

function withFile<T>(xml: string, use: (file: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'vmhop-domain-xml-'));
  try {
    const file = join(dir, 'domain.xml');
    writeFileSync(file, xml);
    return use(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs virt-xml-validate; returns its combined output, which names the first schema error. */
export function validateAgainstSchema(xml: string): { ok: boolean; output: string } {
  return withFile(xml, (file) => {
    const r = spawnSync('virt-xml-validate', [file, 'domain'], { encoding: 'utf8' });
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
  });
}

/** Defines the domain in libvirt's test driver and returns libvirt's own dump of it. */
export function defineAndDump(xml: string, name: string): string {
  return withFile(xml, (file) =>
    execFileSync('virsh', ['-q', '-c', 'test:///default', `define ${file}; dumpxml ${name}`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}
