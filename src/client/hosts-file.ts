// The CLI's connections (virt-manager's "Add connection"): a JSON file of named agents,
// each with its URL, client token and the CA that signed its certificate.
// Default location ~/.config/vmhop/hosts.json, or $VMHOP_HOSTS.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { VmhopError } from '../protocol/errors.js';
import { pickToken, type TokenOptions } from './token-source.js';

export interface HostEntry {
  url: string;
  token?: string;
  /** PEM file of the CA that signed the agent's certificate. */
  ca?: string;
}

export interface HostsFile {
  hosts: Record<string, HostEntry>;
  default?: string;
}

export const hostsFilePath = () =>
  process.env.VMHOP_HOSTS ?? join(homedir(), '.config', 'vmhop', 'hosts.json');

export function readHostsFile(file = hostsFilePath()): HostsFile {
  if (!existsSync(file)) return { hosts: {} };
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as HostsFile;
  } catch (e) {
    throw new VmhopError('VMHOP_ERR_USAGE', `hosts file ${file} is not valid JSON: ${(e as Error).message}`, {
      file,
    });
  }
}

export function writeHostsFile(data: HostsFile, file = hostsFilePath()): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

/**
 * `-c NAME|URL`: a name from the hosts file, or a URL used as is. The token: --token, else
 * --token-file, else $VMHOP_TOKEN, else the hosts file's (token-source.ts).
 */
export function resolveConnection(
  c: string | undefined,
  tokens: TokenOptions = {},
): HostEntry & { name: string } {
  const file = readHostsFile();
  const key = c ?? process.env.VMHOP_CONNECT ?? file.default;
  if (!key) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      'no host given: pass -c NAME (see `vmhop host list`) or add one with `vmhop host add NAME URL --token-file FILE`',
      {},
    );
  }
  if (/^https?:\/\//.test(key)) {
    const token = pickToken(tokens, undefined)?.token;
    return { name: key, url: key, ...(token ? { token } : {}) };
  }
  const entry = hostEntry(file, key);
  if (!entry) {
    const known = Object.keys(file.hosts);
    throw new VmhopError(
      'VMHOP_ERR_HOST_UNKNOWN',
      `no connection named \`${key}\` in ${hostsFilePath()}; known: ${known.length ? known.join(', ') : '(none)'}; add it with \`vmhop host add ${key} URL --token-file FILE\``,
      { host: key, known },
    );
  }
  const token = pickToken(tokens, entry.token)?.token;
  return { name: key, ...entry, ...(token ? { token } : {}) };
}

/** The connection named `name`: own entries only, so `constructor` or `__proto__` names none. */
export function hostEntry(file: HostsFile, name: string): HostEntry | undefined {
  return Object.hasOwn(file.hosts, name) ? file.hosts[name] : undefined;
}
