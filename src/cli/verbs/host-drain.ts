// `vmhop host drain HOST [--to HOST,...] [--dry-run]` (issue 17 §1): with --dry-run the agent of
// HOST plans where each of its VMs would go (GET /v1/host/drain-plan) and this prints the plan:
// one line per move in order, the VMs that cannot move with the reason, the hosts left out, the
// total. Without it the drain runs (host-drain-run.ts): HOST enters maintenance and its VMs move.
import type { Command } from 'commander';
import type { DrainPlan } from '../../protocol/drain.js';
import { VmhopError } from '../../protocol/errors.js';
import { emit, table } from '../../terminal/emit.js';
import { withClient, type GlobalOptions } from '../connect.js';
import { duration } from '../output/progress-line.js';
import { formatSize } from '../output/sizes.js';
import { runVerb } from '../run-verb.js';
import { humanDrainReport, refuseIncomplete, runDrain } from './host-drain-run.js';
import { registerHostUndrain } from './host-undrain.js';

interface DrainFlags {
  to?: string;
  dryRun?: boolean;
  linkMbps?: string;
  linkBudgetMbps?: string;
  maxPerHost?: string;
  maxPerLink?: string;
  insecure?: boolean;
  keepSourceDisks?: boolean;
  reason?: string;
}

/** A whole number flag within its range, refused by name before any agent is asked. */
function wholeNumber(flag: string, value: string, min: number, max: number): string {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `${flag} '${value}' is not a whole number from ${min} to ${max}`,
      {
        flag,
        value,
      },
    );
  }
  return value;
}

export function drainQuery(f: DrainFlags): string {
  const q = new URLSearchParams();
  if (f.to) q.set('to', f.to);
  if (f.linkMbps) q.set('linkMbps', wholeNumber('--link-mbps', f.linkMbps, 1, 1_000_000));
  if (f.linkBudgetMbps)
    q.set('linkBudgetMbps', wholeNumber('--link-budget-mbps', f.linkBudgetMbps, 1, 1_000_000));
  if (f.maxPerHost) q.set('maxPerHost', wholeNumber('--max-per-host', f.maxPerHost, 1, 64));
  if (f.maxPerLink) q.set('maxPerLink', wholeNumber('--max-per-link', f.maxPerLink, 1, 64));
  const text = q.toString();
  return text ? `?${text}` : '';
}

export function humanDrainPlan(p: DrainPlan): string {
  const t = p.total;
  const head =
    `drain plan of ${p.host}: ${t.vms} VMs, ${t.moves} to move, ${t.unplaceable} cannot move; ` +
    `predicted ${duration(t.seconds)} in all, ${formatSize(t.bytes)}, at most ${t.maxConcurrent} at once ` +
    `(limits: ${p.limits.maxPerHost} per target host, ${p.limits.maxPerLink} per link)`;
  const parts = [head];
  if (p.moves.length) {
    parts.push(
      table(
        ['#', 'VM', 'TO', 'MODE', 'PRIO', 'RAM', 'DISK', 'START', 'END', 'ALONE', 'PAUSE'],
        p.moves.map((m) => [
          String(m.order),
          m.vm,
          m.to,
          m.mode,
          String(m.priority),
          formatSize(m.memoryBytes),
          m.diskBytes ? formatSize(m.diskBytes) : '-',
          duration(m.startSeconds),
          duration(m.endSeconds),
          duration(m.predictedSeconds),
          m.predictedPauseMs ? `${m.predictedPauseMs} ms` : '-',
        ]),
      ),
    );
  }
  if (p.unplaceable.length) {
    parts.push(
      `cannot move:\n${table(
        ['VM', 'REASON'],
        p.unplaceable.map((u) => [u.vm, u.reason]),
      )}`,
    );
  }
  if (p.skippedHosts.length) {
    parts.push(
      `hosts left out:\n${table(
        ['HOST', 'WHY'],
        p.skippedHosts.map((h) => [h.host, h.reason]),
      )}`,
    );
  }
  parts.push(`model: ${p.model}`);
  return parts.join('\n\n');
}

/** The execution's body: the dry run's flags, checked the same way. */
function drainBody(f: DrainFlags) {
  const q = new URLSearchParams(drainQuery(f).slice(1));
  const n = (k: string) => (q.has(k) ? { [k]: Number(q.get(k)) } : {});
  return {
    ...(f.to ? { to: f.to.split(',') } : {}),
    ...n('linkMbps'),
    ...n('linkBudgetMbps'),
    ...n('maxPerHost'),
    ...n('maxPerLink'),
    ...(f.insecure ? { insecure: true } : {}),
    ...(f.keepSourceDisks ? { keepSourceDisks: true } : {}),
    ...(f.reason ? { reason: f.reason } : {}),
  };
}

export function registerHostDrain(host: Command): void {
  host
    .command('drain <host>')
    .description(
      'move every VM off a host by a plan (target, mode, order), then keep it in maintenance; --dry-run: the plan only',
    )
    .option('--to <hosts>', 'only these hosts may take VMs (comma-separated; default: every peer)')
    .option('--dry-run', 'print the plan and stop')
    .option('--link-mbps <n>', 'migration link rate to assume, Mbit/s (default 1000)')
    .option(
      '--link-budget-mbps <n>',
      "migration traffic the drained host's link may carry, Mbit/s, split among the moves on it",
    )
    .option('--max-per-host <n>', 'migrations one target takes at once (default 2)')
    .option('--max-per-link <n>', 'migrations sharing one link at once (default 4)')
    .option('--insecure', 'plaintext RAM/NBD streams for every move (as migrate --insecure)')
    .option(
      '--keep-source-disks',
      'keep the disks offline and live-copy moves copied on the drained host (default: deleted once the target runs the VM)',
    )
    .option('--reason <text>', 'why the host is drained (shown in host info while in maintenance)')
    .action(
      runVerb(async (f: DrainFlags, g: GlobalOptions, cmd) => {
        const name = cmd.args[0] as string;
        const query = drainQuery(f);
        if (!f.dryRun) {
          const live = g.json ? undefined : (line: string) => process.stdout.write(`${line}\n`);
          const report = await withClient({ ...g, connect: name }, (c) => runDrain(c, drainBody(f), live));
          if (!g.json) process.stdout.write(`\n${humanDrainReport(report)}\n`);
          refuseIncomplete(report);
          if (g.json) emit(g, report, humanDrainReport);
          return;
        }
        const plan = await withClient({ ...g, connect: name }, (c) =>
          c.call<DrainPlan>('GET', `/v1/host/drain-plan${query}`),
        );
        emit(g, plan, humanDrainPlan);
      }),
    );
  registerHostUndrain(host);
}
