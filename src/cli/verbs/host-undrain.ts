// `vmhop host drain-status HOST`, `vmhop host drain-cancel HOST` and `vmhop host undrain HOST
// [--return]` (issue 17 §1). Undrain ends HOST's maintenance; with --return the agent names the
// VMs its last drain moved away that are still on their targets, and each is moved home by an
// ordinary migration its target starts (POST /v1/migrations there, to HOST), one after another,
// each followed to its end. The targets are reached by their names in the hosts file, which are
// the peer names the agents use.
import type { Command } from 'commander';
import type { AgentClient } from '../../client/agent-client.js';
import type { DrainJob, ReturnMove, UndrainReply } from '../../protocol/drain.js';
import { VmhopError } from '../../protocol/errors.js';
import type { JobInfo } from '../../protocol/migration.js';
import type { VmInfo } from '../../protocol/vm.js';
import { emit, table } from '../../terminal/emit.js';
import { withClient, type GlobalOptions } from '../connect.js';
import { followJob } from '../events/follow-job.js';
import { duration } from '../output/progress-line.js';
import { runVerb } from '../run-verb.js';
import { humanDrainReport } from './host-drain-run.js';

interface Returned {
  vm: string;
  from: string;
  mode: string;
  job?: string;
  state: string;
  seconds?: number;
  error?: string;
}

type UndrainResult = UndrainReply & { returned: Returned[] };

/** The way home: as it went, unless the VM was started or stopped on the target since. */
function modeHome(r: ReturnMove, vm: VmInfo): 'offline' | 'live-shared' | 'live-copy' {
  const live = vm.state === 'running' || vm.state === 'paused';
  if (!live) return 'offline';
  return r.mode === 'offline' ? 'live-copy' : r.mode;
}

interface UndrainFlags {
  return?: boolean;
  insecure?: boolean;
  keepSourceDisks?: boolean;
}

async function bringHome(g: GlobalOptions, home: string, r: ReturnMove, o: UndrainFlags): Promise<Returned> {
  try {
    return await withClient({ ...g, connect: r.from }, async (c) => {
      const vm = await c.call<VmInfo>('GET', `/v1/vms/${encodeURIComponent(r.vm)}`);
      const mode = modeHome(r, vm);
      const options = {
        ...(mode === 'live-copy' ? { copyStorage: 'all' } : {}),
        // As the drain: disks a move copies leave the host they come from once home runs the VM.
        ...(mode !== 'live-shared' && !o.keepSourceDisks ? { deleteSource: true } : {}),
        ...(o.insecure ? { insecure: true } : {}),
      };
      const started = await c.call<{ job: JobInfo }>('POST', '/v1/migrations', {
        vm: r.vm,
        to: home,
        mode,
        options,
      });
      const end = await followJob(c, started.job.id, { onProgress: () => undefined });
      return {
        vm: r.vm,
        from: r.from,
        mode,
        job: end.id,
        state: end.state,
        ...(end.report ? { seconds: Math.round(end.report.totalMs / 100) / 10 } : {}),
        ...(end.report?.error ? { error: `${end.report.error.code}: ${end.report.error.message}` } : {}),
      };
    });
  } catch (e) {
    const code = e instanceof VmhopError ? `${e.code}: ` : '';
    return { vm: r.vm, from: r.from, mode: r.mode, state: 'failed', error: `${code}${(e as Error).message}` };
  }
}

function humanUndrain(u: UndrainResult): string {
  const parts = [
    u.wasInMaintenance
      ? `${u.host} left maintenance: it takes new VMs again`
      : `${u.host} was not in maintenance`,
  ];
  if (u.returned.length)
    parts.push(
      table(
        ['VM', 'FROM', 'MODE', 'STATE', 'TIME', 'WHY'],
        u.returned.map((r) => [
          r.vm,
          r.from,
          r.mode,
          r.state,
          r.seconds !== undefined ? duration(r.seconds) : '-',
          r.error ?? '',
        ]),
      ),
    );
  if (u.skipped.length)
    parts.push(
      `not returned:\n${table(
        ['VM', 'WHY'],
        u.skipped.map((s) => [s.vm, s.reason]),
      )}`,
    );
  return parts.join('\n\n');
}

const latest = (c: AgentClient) => c.call<DrainJob>('GET', '/v1/host/drain');

export function registerHostUndrain(host: Command): void {
  host
    .command('undrain <host>')
    .description("end a host's maintenance; --return: bring home the VMs its last drain moved away")
    .option('--return', 'move back the VMs the last drain moved away (still on their targets)')
    .option('--insecure', 'plaintext RAM/NBD streams for the moves home')
    .option('--keep-source-disks', 'keep the copied disks on the hosts the VMs come home from')
    .action(
      runVerb(async (f: UndrainFlags, g: GlobalOptions, cmd) => {
        const name = cmd.args[0] as string;
        const reply = await withClient({ ...g, connect: name }, (c) =>
          c.call<UndrainReply>('POST', '/v1/host/undrain', { return: f.return === true }),
        );
        const returned: Returned[] = [];
        for (const r of reply.returns) {
          const out = await bringHome(g, reply.host, r, f);
          if (!g.json)
            process.stdout.write(
              `${r.vm} <- ${r.from} ${out.mode}: ${out.state}${out.error ? ` (${out.error})` : ''}\n`,
            );
          returned.push(out);
        }
        const result = { ...reply, returned };
        const failed = returned.filter((r) => r.state !== 'completed');
        if (failed.length) {
          if (!g.json) process.stdout.write(`${humanUndrain(result)}\n`);
          throw new VmhopError(
            'VMHOP_ERR_MIGRATION_FAILED',
            `${failed.map((r) => r.vm).join(', ')} did not come back to \`${reply.host}\`: ${failed.map((r) => `${r.vm}: ${r.error ?? r.state}`).join('; ')}`,
            { undrain: result },
          );
        }
        emit(g, result, humanUndrain);
      }),
    );
  host
    .command('drain-status <host>')
    .description("the host's latest drain: per VM where it went, time, pause; the whole: time, bytes")
    .action(
      runVerb(async (_f: unknown, g: GlobalOptions, cmd) => {
        const d = await withClient({ ...g, connect: cmd.args[0] as string }, latest);
        emit(g, d, humanDrainReport);
      }),
    );
  host
    .command('drain-cancel <host>')
    .description("cancel the host's running drain: running moves end or roll back, queued ones stay")
    .action(
      runVerb(async (_f: unknown, g: GlobalOptions, cmd) => {
        const d = await withClient({ ...g, connect: cmd.args[0] as string }, async (c) =>
          c.call<DrainJob>('POST', `/v1/host/drains/${(await latest(c)).id}/cancel`),
        );
        emit(
          g,
          d,
          (x) =>
            `cancel sent to drain ${x.id} of ${x.host}; \`vmhop host drain-status ${x.host}\` follows it`,
        );
      }),
    );
}
