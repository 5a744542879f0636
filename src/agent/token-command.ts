// `vmhop-agent token add|list|remove`: named client tokens in the agent's registry, run on
// the host (as the agent's user) while the agent runs or not; the agent reads the table at
// each request. The token is printed once, on stdout alone, and only its SHA-256 is kept.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { Command } from 'commander';
import { VmhopError } from '../protocol/errors.js';
import { reportError, table } from '../terminal/emit.js';
import { AgentConfig } from './config.js';
import { openDb } from './db/open.js';
import { CONFIG_TOKEN_PREFIX, TokenStore, type TokenRole } from './db/token-store.js';

const DEFAULT_CONFIG = '/etc/vmhop/agent.json';

interface Where {
  config?: string;
  dataDir?: string;
}

/** The data dir (from --data-dir, else the config's dataDir) and the config's tokenHashes. */
function locate(w: Where): { dataDir: string; configHashes: string[] } {
  const file = w.config ?? (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined);
  let raw: Record<string, unknown> = {};
  if (file) {
    try {
      raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new VmhopError('VMHOP_ERR_USAGE', `cannot read agent config ${file}: ${(e as Error).message}`, {
        file,
      });
    }
  }
  const dataDir = AgentConfig.shape.dataDir.safeParse(w.dataDir ?? raw.dataDir);
  if (!dataDir.success) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `data dir \`${String(w.dataDir ?? raw.dataDir)}\` is not an absolute path: pass --data-dir /var/lib/vmhop or --config FILE`,
      {},
    );
  }
  const hashes = AgentConfig.shape.tokenHashes.safeParse(raw.tokenHashes);
  return { dataDir: dataDir.data, configHashes: hashes.success ? hashes.data : [] };
}

function withStore<T>(w: Where, fn: (s: TokenStore, configHashes: string[]) => T): T {
  const { dataDir, configHashes } = locate(w);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = openDb(`${dataDir}/registry.sqlite`);
  try {
    return fn(new TokenStore(db), configHashes);
  } finally {
    db.close();
  }
}

const where = (c: Command) =>
  c
    .option('--config <file>', `agent config whose dataDir holds the registry (default ${DEFAULT_CONFIG})`)
    .option('--data-dir <dir>', 'the agent data dir, instead of reading it from the config');

const run =
  <F extends Where>(fn: (name: string | undefined, f: F) => void) =>
  (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    try {
      fn(cmd.args[0], cmd.opts() as F);
    } catch (e) {
      process.exitCode = reportError(e, (cmd.opts() as { json?: boolean }).json === true);
    }
  };

export interface TokenCommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: TokenCommandIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

export function tokenCommand(io: TokenCommandIo = processIo): Command {
  const token = new Command('token').description('named client tokens of this agent');
  where(token.command('add <name>'))
    .description('create a token; it is printed once on stdout, and only its hash is kept')
    .option('--role <role>', 'admin, or read-only (GET only: dashboards)', 'admin')
    .action(
      run<Where & { role: string }>((name, f) => {
        const { token: secret, row } = withStore(f, (s) => s.add(name as string, f.role as TokenRole));
        io.out(`${secret}\n`);
        io.err(
          `token \`${row.name}\` (${row.role}) added; it is not shown again. Save it to a file (mode 0600) and use \`vmhop host add NAME URL --token-file FILE\`\n`,
        );
      }),
    );
  where(token.command('list'))
    .description('token names, roles and creation times (never tokens or hashes)')
    .option('--json', 'one JSON document')
    .action(
      run<Where & { json?: boolean }>((_n, f) => {
        const rows = withStore(f, (s, hashes) => [
          ...hashes.map((_h, i) => ({
            name: `${CONFIG_TOKEN_PREFIX}${i + 1}`,
            role: 'admin',
            createdAt: '',
            source: 'config',
          })),
          ...s
            .list()
            .map((t) => ({ name: t.name, role: t.role, createdAt: t.createdAt, source: 'registry' })),
        ]);
        io.out(
          f.json
            ? `${JSON.stringify({ tokens: rows }, null, 2)}\n`
            : `${table(
                ['NAME', 'ROLE', 'CREATED', 'SOURCE'],
                rows.map((t) => [t.name, t.role, t.createdAt || '-', t.source]),
              )}\n`,
        );
      }),
    );
  where(token.command('remove <name>'))
    .description('remove a token: the running agent refuses it from the next request on')
    .action(
      run<Where>((name, f) => {
        if (name?.startsWith(CONFIG_TOKEN_PREFIX)) {
          throw new VmhopError(
            'VMHOP_ERR_USAGE',
            `\`${name}\` is a hash in the config's tokenHashes: delete it there and restart the agent`,
            { name },
          );
        }
        withStore(f, (s) => s.remove(name as string));
        io.err(`token \`${name}\` removed\n`);
      }),
    );
  return token;
}
