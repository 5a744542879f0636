// The UI's view of the hosts file: list connection names (never tokens) and add one
// (virt-manager's "Add connection"), written to the same file the CLI uses.
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { VmhopError } from '../../protocol/errors.js';
import { hostEntry, readHostsFile, writeHostsFile } from '../../client/hosts-file.js';

export const NewConnection = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'name: letters, digits, _ . -'),
  url: z.string().regex(/^https?:\/\/[^/\s]+\/?$/, 'expected an agent URL such as https://10.99.0.11:8443'),
  token: z.string().max(4096).optional(),
  ca: z.string().max(4096).optional(),
});

export function listConnections(): { hosts: { name: string; url: string }[]; default?: string } {
  const f = readHostsFile();
  return {
    hosts: Object.entries(f.hosts).map(([name, e]) => ({ name, url: e.url })),
    ...(f.default ? { default: f.default } : {}),
  };
}

export function addConnection(body: unknown): { name: string; url: string } {
  const r = NewConnection.safeParse(body);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    throw new VmhopError('VMHOP_ERR_USAGE', `invalid connection: ${issues.join('; ')}`, { issues });
  }
  const { name, url, token, ca } = r.data;
  if (ca && !existsSync(ca)) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `CA file \`${ca}\` does not exist on the machine running vmhop ui`,
      {
        ca,
      },
    );
  }
  const f = readHostsFile();
  f.hosts[name] = { url, ...(token ? { token } : {}), ...(ca ? { ca } : {}) };
  f.default ??= name;
  writeHostsFile(f);
  return { name, url };
}

export function removeConnection(name: string): void {
  const f = readHostsFile();
  if (!hostEntry(f, name))
    throw new VmhopError('VMHOP_ERR_HOST_UNKNOWN', `no connection named \`${name}\``, { host: name });
  delete f.hosts[name];
  if (f.default === name) delete f.default;
  writeHostsFile(f);
}
