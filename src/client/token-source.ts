// Where the CLI's client token comes from, first found wins: --token, --token-file,
// $VMHOP_TOKEN, the hosts file's entry. --token is visible to every user in `ps`; a file or
// the environment is not, so scripts and `host add` should use those.
import { readFileSync, statSync } from 'node:fs';
import { VmhopError } from '../protocol/errors.js';

export interface TokenOptions {
  /** --token */
  token?: string;
  /** --token-file */
  tokenFile?: string;
}

export type TokenSource = 'flag' | 'file' | 'env' | 'hosts-file';

const warnOnStderr = (m: string) => void process.stderr.write(`warning: ${m}\n`);

/** The token in `file` (surrounding whitespace dropped); a file others may read is used, with a warning. */
export function readTokenFile(file: string, warn: (m: string) => void = warnOnStderr): string {
  let text: string;
  let mode: number;
  try {
    mode = statSync(file).mode;
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `cannot read token file ${file}: ${(e as Error).message}; pass the path of a file holding the token`,
      { file },
    );
  }
  const token = text.trim();
  if (!token || /\s/.test(token)) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `token file ${file} must hold one token (the line \`vmhop-agent token add\` printed), ${token ? 'not several words' : 'it is empty'}`,
      { file },
    );
  }
  if (mode & 0o077) {
    warn(
      `token file ${file} is readable by other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): chmod 600 ${file}`,
    );
  }
  return token;
}

/** The token to use and where it came from, by the documented precedence; undefined when none. */
export function pickToken(
  o: TokenOptions,
  hostsFileToken: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  warn?: (m: string) => void,
): { token: string; source: TokenSource } | undefined {
  if (o.token) return { token: o.token, source: 'flag' };
  if (o.tokenFile) return { token: readTokenFile(o.tokenFile, warn), source: 'file' };
  if (env.VMHOP_TOKEN) return { token: env.VMHOP_TOKEN, source: 'env' };
  if (hostsFileToken) return { token: hostsFileToken, source: 'hosts-file' };
  return undefined;
}
