// vmhop-agent configuration: a JSON file (default /etc/vmhop/agent.json) overlaid by
// command-line flags. Secure by default: the API listens on one address (never 0.0.0.0
// unless `listen` says so) over TLS, and clients need a token.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { VmhopError } from '../protocol/errors.js';
import { DEFAULT_POLICY, PolicyName } from '../protocol/policy.js';

/** An absolute directory other than `/` itself, for the allowed-path lists. */
const absoluteDir = (setting: string) =>
  z
    .string()
    .regex(/^\/[^\0]*$/, `${setting}: each entry must be an absolute directory`)
    .refine((d) => d.replace(/\/+$/, '') !== '', `${setting}: \`/\` would allow every file of the host`);

/**
 * Unprivileged ports only (the agent need not run as root to bind them), at least two (a live
 * copy takes a RAM and an NBD port), and no more than a firewall rule should open.
 */
const migrationPorts = z
  .object({ first: z.number().int(), count: z.number().int() })
  .strict()
  .superRefine((r, ctx) => {
    const fix = 'e.g. {"first": 49300, "count": 100}';
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (r.first < 1024 || r.first > 65535)
      issue(
        'first',
        `${r.first} is not a port of 1024..65535 (privileged ports are not taken); choose one there, ${fix}`,
      );
    if (r.count < 2 || r.count > 1000)
      issue(
        'count',
        `${r.count} ports: a range holds 2..1000 (one per incoming migration, two with --copy-storage); ${fix}`,
      );
    else if (r.first + r.count > 65536)
      issue(
        'count',
        `${r.first}+${r.count} runs past port 65535 (last would be ${r.first + r.count - 1}); lower first to at most ${65536 - r.count} or count to at most ${Math.max(0, 65536 - r.first)}`,
      );
  });

export const AgentConfig = z.object({
  /** This host's name, as peers and the CLI know it. */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/),
  /** host:port of the API, e.g. 10.99.0.11:8443. */
  listen: z.string().regex(/^[0-9.]+:\d{1,5}$|^\[[0-9a-f:]+\]:\d{1,5}$/, 'listen must be ADDRESS:PORT'),
  dataDir: z.string().startsWith('/').default('/var/lib/vmhop'),
  runDir: z.string().startsWith('/').default('/run/vmhop'),
  /** Address QEMU listens on for incoming migrations and NBD exports (defaults to the listen address). */
  migrationAddress: z.string().optional(),
  /**
   * The TCP ports this host's migration listeners take on the migration address: a live
   * migration's RAM stream (from the low end) and a live copy's NBD server (from the high end).
   * One port per concurrent incoming migration, two with --copy-storage. Move it off libvirt's
   * 49152-49215 when libvirtd runs beside the agent; the firewall opens exactly this range.
   */
  migrationPorts: migrationPorts.default({ first: 49152, count: 100 }),
  tls: z.object({ cert: z.string(), key: z.string(), ca: z.string(), dir: z.string().optional() }).optional(),
  /**
   * SHA-256 hex of client tokens accepted as admin tokens without a name of their own (logged and
   * audited as config-token-1, -2, ...; `vmhop-agent hash-token` prints one). Named tokens with a
   * role live in the registry instead (`vmhop-agent token add NAME [--role read-only]`).
   */
  tokenHashes: z.array(z.string().regex(/^[0-9a-f]{64}$/)).default([]),
  /** Plain HTTP without authentication: only for a loopback-only development agent. */
  insecure: z.boolean().default(false),
  /**
   * Let a peer agent's certificate (cluster CA) stand in for a client token on client routes.
   * Off: nothing in vmhop needs it (agents call each other's /v1/peer/* routes only, the CLI
   * and UI use tokens), and with it any host of the cluster could act as an administrator here.
   */
  peerCertificatesAsClients: z.boolean().default(false),
  /**
   * Directories under which clients may define dir and shared pools (the data directory is
   * always allowed). Not `/`: a pool there would let a client token read and write any file.
   */
  allowedPoolRoots: z
    .array(absoluteDir('allowedPoolRoots'))
    .default(['/var/lib/vmhop', '/var/lib/libvirt/images', '/srv', '/mnt', '/media']),
  /** Directories a VM's kernel and initrd may come from (the data directory is always allowed). */
  allowedBootDirs: z.array(absoluteDir('allowedBootDirs')).default(['/var/lib/libvirt/boot']),
  peers: z.record(z.string(), z.string().url()).default({}),
  /**
   * Cluster mode: with `etcd`, agents find each other in etcd (members under a lease, no `peers`
   * map needed) and a VM's owner is a key in etcd that only a compare-and-swap changes: the
   * commit point of every migration (docs/fleet-etcd.md). Without it: the peers map and each
   * agent's SQLite (embedded mode, the default for a few hosts).
   */
  cluster: z
    .object({
      etcd: z
        .object({
          /** Client URLs of the etcd members, e.g. https://10.0.0.5:2379. */
          endpoints: z
            .array(z.string().regex(/^https?:\/\/[^\s/]+$/, 'an etcd endpoint is http(s)://HOST:PORT'))
            .min(1),
          /** Seconds the host's lease lives without a keep-alive; the agent stops accepting after TTL - 3 s. */
          leaseTtlSeconds: z.number().int().min(5).max(300).default(10),
          /** Client TLS to etcd (files); plain HTTP without it. */
          tls: z
            .object({ ca: z.string(), cert: z.string().optional(), key: z.string().optional() })
            .optional(),
          /** The key prefix; several vmhop clusters may share one etcd. */
          prefix: z
            .string()
            .regex(/^\/[A-Za-z0-9_./-]*\/$/, 'prefix starts and ends with /')
            .default('/vmhop/v1/'),
        })
        .strict(),
    })
    .strict()
    .optional(),
  accel: z.enum(['auto', 'kvm', 'tcg']).default('auto'),
  /** The QEMU every VM of this host runs: `qemu-system-x86_64` from PATH, or an absolute path (a build of one's own, or QEMU 7.2 for a comparison). */
  qemuBinary: z
    .string()
    .regex(
      /^qemu-system-x86_64$|^\/[A-Za-z0-9_./+-]+$/,
      'qemuBinary must be qemu-system-x86_64 or an absolute path of letters, digits and _./+-',
    )
    .default('qemu-system-x86_64'),
  /** Tests: every QEMU gets a second QMP monitor for an outside observer. */
  observerMonitor: z.boolean().default(false),
  /** Partial volumes of an interrupted offline copy are kept this long for a resume, then removed. */
  interruptedTtlHours: z
    .number()
    .positive()
    .max(24 * 365)
    .default(24),
  /**
   * At the switchover the source, paused, asks the target to commit and retries for this long
   * when no answer comes; then the job is `needs-operator` and the source keeps asking (below).
   */
  commitAnswerSeconds: z.number().int().min(1).max(3_600).default(60),
  /** The policy of a live migration that names none (`--policy`): what it may do to finish (README, Migration policies). */
  migrationPolicy: PolicyName.default(DEFAULT_POLICY),
  /**
   * A switchover whose outcome nobody knew (`needs-operator`) is settled by asking the target
   * until it answers, with back-off, for this long after the job stopped; then by an operator.
   */
  unresolvedFollowHours: z
    .number()
    .positive()
    .max(24 * 365)
    .default(24),
  /**
   * Ended jobs (completed, failed, cancelled) are kept this many days after they ended, then
   * pruned with their journals (at start and hourly). Running, interrupted and needs-operator
   * jobs are never pruned; the audit log is never pruned. Longer than unresolvedFollowHours: a
   * source that still asks this host about a switchover must find the target's record.
   */
  jobRetentionDays: z.number().positive().max(36_500).default(30),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});
export type AgentConfig = z.infer<typeof AgentConfig>;

export function loadConfig(file: string | undefined, overrides: Record<string, unknown>): AgentConfig {
  let base: Record<string, unknown> = {};
  if (file) {
    try {
      base = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new VmhopError('VMHOP_ERR_USAGE', `cannot read agent config ${file}: ${(e as Error).message}`, {
        file,
      });
    }
  }
  const merged = {
    ...base,
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
  };
  const r = AgentConfig.safeParse(merged);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new VmhopError('VMHOP_ERR_USAGE', `invalid agent config: ${issues.join('; ')}`, { issues });
  }
  const cfg = r.data;
  if (cfg.jobRetentionDays * 24 <= cfg.unresolvedFollowHours) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `invalid agent config: jobRetentionDays ${cfg.jobRetentionDays} (${cfg.jobRetentionDays * 24} h) must be longer than unresolvedFollowHours ${cfg.unresolvedFollowHours}: a peer still settling a switchover asks for this host's job record; raise jobRetentionDays above ${Math.ceil(cfg.unresolvedFollowHours / 24)}`,
      { jobRetentionDays: cfg.jobRetentionDays, unresolvedFollowHours: cfg.unresolvedFollowHours },
    );
  }
  if (!cfg.insecure && !cfg.tls) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      'the agent needs TLS material (tls.cert, tls.key, tls.ca) or an explicit insecure: true',
      {},
    );
  }
  if (cfg.insecure && !/^127\.|^\[::1\]/.test(cfg.listen)) {
    throw new VmhopError('VMHOP_ERR_USAGE', `insecure mode may only listen on loopback, not ${cfg.listen}`, {
      listen: cfg.listen,
    });
  }
  return cfg;
}
