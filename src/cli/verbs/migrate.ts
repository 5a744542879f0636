// `vmhop migrate NAME --to HOST --live|--offline [options]`: starts the job on the source
// agent and follows it to the end by its events, with a progress line on stderr; Ctrl-C cancels it.
// Also domjobinfo, domjobabort and migrate-postcopy; job.ts has the history (job list/show/...).
import { Option, type Command } from 'commander';
import { VmhopError } from '../../protocol/errors.js';
import {
  errorCodeOfEnd,
  MigrationOptions,
  TimeoutAction,
  type JobInfo,
  type PreflightCheck,
} from '../../protocol/migration.js';
import { POLICIES, PolicyName } from '../../protocol/policy.js';
import type { Prediction } from '../../protocol/prediction.js';
import type { AgentClient } from '../../client/agent-client.js';
import { withClient, type GlobalOptions } from '../connect.js';
import { emit } from '../../terminal/emit.js';
import { renderProgress } from '../output/progress-line.js';
import { humanJob, humanPreflight } from '../output/job.js';
import { runVerb } from '../run-verb.js';
import { followJob } from '../events/follow-job.js';

interface MigrateFlags {
  to: string;
  live?: boolean;
  offline?: boolean;
  dryRun?: boolean;
  policy?: string;
  bandwidth?: string;
  maxDowntime?: string;
  autoConverge?: boolean;
  postcopy?: boolean;
  postcopyAfterPrecopy?: boolean;
  parallel?: string;
  compressed?: string;
  timeout?: string;
  timeoutAction?: string;
  keepSource?: boolean;
  insecure?: boolean;
  stallTimeout?: string;
  copyStorage?: string;
  copyStorageAll?: boolean;
  copyStorageInc?: boolean;
  migrateDisks?: string;
  targetPool?: string;
  deleteSource?: boolean;
  keepState?: boolean;
  targetDevice?: string;
  force?: boolean;
  unsafe?: boolean;
}

const num = (flag: string, v: string | undefined) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new VmhopError('VMHOP_ERR_USAGE', `--${flag} ${v} is not a positive number`, { [flag]: v });
  return n;
};

export function migrateRequest(name: string, f: MigrateFlags) {
  if (!!f.live === !!f.offline) {
    throw new VmhopError('VMHOP_ERR_USAGE', 'say how to migrate: exactly one of --live or --offline', {});
  }
  // virsh's spellings; commander refuses them together with --copy-storage (conflicts()).
  const copyStorage = f.copyStorage ?? (f.copyStorageAll ? 'all' : f.copyStorageInc ? 'inc' : undefined);
  const options = {
    ...(f.policy ? { policy: f.policy } : {}),
    ...(f.bandwidth ? { bandwidthMiBs: num('bandwidth', f.bandwidth) } : {}),
    ...(f.maxDowntime ? { maxDowntimeMs: num('max-downtime', f.maxDowntime) } : {}),
    ...(f.autoConverge ? { autoConverge: true } : {}),
    ...(f.postcopy ? { postcopy: true } : {}),
    ...(f.postcopyAfterPrecopy ? { postcopyAfterPrecopy: true } : {}),
    ...(f.parallel ? { parallel: num('parallel', f.parallel) } : {}),
    ...(f.compressed ? { compressed: f.compressed } : {}),
    ...(f.timeout ? { timeoutS: num('timeout', f.timeout) } : {}),
    ...(f.timeoutAction ? { timeoutAction: f.timeoutAction } : {}),
    ...(f.keepSource ? { keepSource: true } : {}),
    ...(f.insecure ? { insecure: true } : {}),
    ...(f.stallTimeout
      ? { stallTimeoutMs: Math.round((num('stall-timeout', f.stallTimeout) ?? 30) * 1000) }
      : {}),
    ...(copyStorage ? { copyStorage } : {}),
    ...(f.migrateDisks ? { migrateDisks: f.migrateDisks.split(',') } : {}),
    ...(f.targetPool ? { targetPool: f.targetPool } : {}),
    ...(f.deleteSource ? { deleteSource: true } : {}),
    ...(f.keepState ? { keepState: true } : {}),
    ...(f.targetDevice ? { targetDevice: f.targetDevice } : {}),
    ...(f.force || f.unsafe ? { force: true } : {}),
  };
  const mode = f.offline ? 'offline' : copyStorage ? 'live-copy' : 'live-shared';
  return { vm: name, to: f.to, mode, options, dryRun: f.dryRun === true };
}

/**
 * Follows the job to its end by the agent's events (polling only if the stream cannot be
 * kept), drawing progress on stderr as each event arrives; bounded by the job's own end.
 */
export async function follow(c: AgentClient, id: string, showProgress: boolean): Promise<JobInfo> {
  const tty = process.stderr.isTTY;
  let lastPrint = 0;
  let drawn = false;
  const job = await followJob(c, id, {
    onProgress: (p) => {
      if (!showProgress || !(tty || Date.now() - lastPrint > 2_000)) return;
      const line = renderProgress(p, tty ? (process.stderr.columns ?? 100) : 120);
      process.stderr.write(tty ? `\r${line}` : `${line}\n`);
      lastPrint = Date.now();
      drawn = true;
    },
  });
  if (showProgress && tty && drawn) process.stderr.write('\n');
  return job;
}

export function endError(job: JobInfo): VmhopError | undefined {
  if (job.state === 'completed') return undefined;
  const msg = job.report?.error?.message ?? `the migration ended ${job.state}`;
  return new VmhopError(errorCodeOfEnd(job.state), msg, { job: job.id, report: job.report });
}

export function registerMigrateVerbs(program: Command): void {
  program
    .command('migrate <name>')
    .description('move a VM to another host: --live (shared storage, or --copy-storage all|inc) or --offline')
    .requiredOption('--to <host>', 'target host (a peer of the source agent)')
    .option('--live', 'keep the VM running; only a short pause at the switchover')
    .option('--offline', 'move a stopped VM (or a saved one with --keep-state)')
    .option('--dry-run', 'run the pre-flight checks, print them and stop')
    .addOption(
      new Option(
        '--policy <name>',
        `what a live migration may do to finish when the guest dirties memory faster than the link sends it (default: the agent's migrationPolicy, finish): ${PolicyName.options.map((n) => `${n}: ${POLICIES[n].summary}`).join('; ')}`,
      ).choices(PolicyName.options),
    )
    .option('--bandwidth <MiB/s>', 'cap the migration rate (default: no cap)')
    .option('--max-downtime <ms>', 'largest acceptable pause at the switchover (QEMU default 300)')
    .option('--auto-converge', 'slow the guest down if it dirties memory faster than the link moves it')
    .option(
      '--postcopy',
      'allow switching to post-copy (shared storage only): on --timeout-action postcopy or `vmhop migrate-postcopy NAME`',
    )
    .option(
      '--postcopy-after-precopy',
      'with --postcopy: switch to post-copy once the first RAM pass is done',
    )
    .option('--parallel <N>', 'parallel connections (multifd)')
    .addOption(
      new Option(
        '--compressed [method]',
        'compress multifd streams (zlib only when both hosts run QEMU 10 or newer: 7.2 corrupted guests with it); unlike virsh, the method is the value (virsh: --compressed --comp-methods)',
      )
        .choices(MigrationOptions.shape.compressed.unwrap().options)
        .preset('zstd'),
    )
    .option('--timeout <s>', 'act when the migration is not done after this many seconds')
    .addOption(
      new Option(
        '--timeout-action <action>',
        "what to do at --timeout (virsh's --timeout suspends; here the default aborts)",
      )
        .choices(TimeoutAction.options)
        .default('abort'),
    )
    .option(
      '--keep-source',
      'keep the definition on the source, marked as moved (unlike virsh, vmhop removes it by default)',
    )
    .addOption(
      new Option(
        '--undefinesource',
        "virsh's flag, accepted and ignored: vmhop removes the source definition unless --keep-source",
      ).conflicts('keepSource'),
    )
    .option(
      '--persistent',
      "virsh's flag, accepted and ignored: the target's definition is always persistent",
    )
    .option('--insecure', 'send RAM in plaintext (default: TLS)')
    .option('--stall-timeout <s>', 'cancel when nothing moves for this long (default 30)')
    .addOption(
      new Option(
        '--copy-storage <what>',
        'copy local disks during a live migration (inc: the top layer only)',
      ).choices(MigrationOptions.shape.copyStorage.unwrap().options),
    )
    .addOption(
      new Option('--copy-storage-all', "virsh's spelling of --copy-storage all").conflicts([
        'copyStorage',
        'copyStorageInc',
      ]),
    )
    .addOption(
      new Option('--copy-storage-inc', "virsh's spelling of --copy-storage inc").conflicts('copyStorage'),
    )
    .option('--migrate-disks <vda,...>', 'which disks to copy')
    .option('--target-pool <pool>', 'pool for copied disks on the target')
    .option('--delete-source', 'delete the source volumes after the target verified its copy')
    .option('--keep-state', 'offline: save a running VM, move its state with the disks, restore it there')
    .option('--target-device <dev>', 'offline: write a copied block device onto this device of the target')
    .option(
      '--force',
      'run a live migration the pre-flight refuses as known-bad for this QEMU (e.g. QEMU 7.x under TCG); the report warns',
    )
    .option('--unsafe', "virsh's name for --force")
    .action(
      runVerb(async (f: MigrateFlags, g: GlobalOptions, cmd) => {
        const req = migrateRequest(cmd.args[0] as string, f);
        const job = await withClient(g, async (c) => {
          const started = await c.call<{
            job?: JobInfo;
            preflight: PreflightCheck[];
            prediction?: Prediction;
          }>('POST', '/v1/migrations', req);
          if (!started.job) return { preflight: started.preflight, prediction: started.prediction };
          const id = started.job.id;
          const onSigint = () => void c.call('POST', `/v1/jobs/${id}/abort`).catch(() => undefined);
          process.on('SIGINT', onSigint);
          try {
            return await follow(c, id, !g.json);
          } finally {
            process.off('SIGINT', onSigint);
          }
        });
        if ('preflight' in job && !('id' in job)) {
          emit(g, job, (r) => humanPreflight(r.preflight, r.prediction));
          return;
        }
        const err = endError(job as JobInfo);
        if (err) throw err;
        emit(g, job as JobInfo, humanJob);
      }),
    );

  program
    .command('domjobinfo <name>')
    .description("the VM's current (or last) migration job")
    .action(
      runVerb(async (_f, g: GlobalOptions, cmd) => {
        const r = await withClient(g, (c) =>
          c.call<{ job: JobInfo | null }>('GET', `/v1/vms/${encodeURIComponent(cmd.args[0] as string)}/job`),
        );
        emit(g, r, (x) => (x.job ? humanJob(x.job) : 'no migration job'));
      }),
    );

  program
    .command('migrate-postcopy <name>')
    .description(
      "switch the VM's running --postcopy migration to post-copy now: the VM runs on the target at once and pulls the rest of its RAM",
    )
    .action(
      runVerb(async (_f, g: GlobalOptions, cmd) => {
        const r = await withClient(g, (c) =>
          c.call<JobInfo>('POST', `/v1/vms/${encodeURIComponent(cmd.args[0] as string)}/job/postcopy`),
        );
        emit(g, r, (j) => `job ${j.id}: switching to post-copy`);
      }),
    );

  program
    .command('domjobabort <name>')
    .description("cancel the VM's running migration; the VM keeps running on the source")
    .action(
      runVerb(async (_f, g: GlobalOptions, cmd) => {
        const r = await withClient(g, (c) =>
          c.call<JobInfo>('POST', `/v1/vms/${encodeURIComponent(cmd.args[0] as string)}/job/abort`),
        );
        emit(g, r, (j) => `cancelling job ${j.id}`);
      }),
    );
}
