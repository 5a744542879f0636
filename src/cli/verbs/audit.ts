// `vmhop audit [HOST] [--since 2h|ISO] [--limit N]`: who changed what on a host (the agent's
// audit log, GET /v1/audit), oldest first so the last line is the latest.
import type { Command } from 'commander';
import type { AuditEntry } from '../../protocol/audit.js';
import { VmhopError } from '../../protocol/errors.js';
import { withClient, type GlobalOptions } from '../connect.js';
import { emit, table } from '../../terminal/emit.js';
import { runVerb } from '../run-verb.js';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `--since`: a duration back from `now` (30m, 2h, 7d) or a date/time (2026-12-01, ISO 8601). */
export function sinceToIso(since: string, now = Date.now()): string {
  const rel = /^(\d+)([smhd])$/.exec(since);
  if (rel) return new Date(now - Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS]).toISOString();
  const t = /^\d{4}-\d{2}-\d{2}/.test(since) ? Date.parse(since) : NaN;
  if (Number.isNaN(t)) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `--since \`${since}\` is neither a duration (30m, 2h, 7d) nor a date (2026-12-01 or 2026-12-01T10:00:00Z)`,
      { since },
    );
  }
  return new Date(t).toISOString();
}

export const humanAudit = (entries: AuditEntry[]) =>
  entries.length === 0
    ? '(no audit entries)'
    : table(
        ['TIME', 'WHO', 'ACTION', 'TARGET', 'OUTCOME'],
        [...entries]
          .reverse()
          .map((e) => [e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), e.who, e.action, e.target, e.outcome]),
      );

export function registerAuditVerb(program: Command): void {
  program
    .command('audit [host]')
    .description("who changed what on a host: the agent's audit log (HOST, or -c)")
    .option('--since <when>', 'only entries since a duration ago (30m, 2h, 7d) or a date')
    .option('--limit <n>', 'at most this many of the latest entries (1-1000)', '100')
    .action(
      runVerb(async (f: { since?: string; limit: string }, g: GlobalOptions, cmd) => {
        const host = cmd.args[0];
        const q = new URLSearchParams({ limit: f.limit });
        if (f.since) q.set('since', sinceToIso(f.since));
        const r = await withClient({ ...g, ...(host ? { connect: host } : {}) }, (c) =>
          c.call<{ entries: AuditEntry[] }>('GET', `/v1/audit?${q.toString()}`),
        );
        emit(g, r, (x) => humanAudit(x.entries));
      }),
    );
}
