// `vmhop job list|show|resume|resolve|abort`: the migration history of a host and what can be
// done with a job after the fact (resume an interrupted offline copy, settle a needs-operator one).
import type { Command } from 'commander';
import { VmhopError } from '../../protocol/errors.js';
import type { JobInfo } from '../../protocol/migration.js';
import { withClient, type GlobalOptions } from '../connect.js';
import { emit } from '../../terminal/emit.js';
import { humanJob } from '../output/job.js';
import { runVerb } from '../run-verb.js';
import { endError, follow } from './migrate.js';

export function registerJobVerbs(program: Command): void {
  const job = program.command('job').description('migration jobs and their reports');
  job
    .command('list')
    .description('the migration history of this host')
    .action(
      runVerb(async (_f, g: GlobalOptions) => {
        const r = await withClient(g, (c) => c.call<{ jobs: JobInfo[] }>('GET', '/v1/jobs'));
        emit(
          g,
          r,
          (x) =>
            x.jobs
              .map(
                (j) =>
                  `${j.id}  ${j.createdAt}  ${j.vm.padEnd(12)} ${j.role.padEnd(6)} ${j.mode.padEnd(11)} -> ${j.peer.padEnd(6)} ${j.state}${j.report ? `  ${(j.report.totalMs / 1000).toFixed(1)} s` : ''}`,
              )
              .join('\n') || 'no jobs',
        );
      }),
    );
  job
    .command('show <id>')
    .description('one job: phases, report, journal')
    .action(
      runVerb(async (_f, g: GlobalOptions, cmd) => {
        const r = await withClient(g, (c) =>
          c.call<JobInfo & { journal: { at: string; entry: string }[] }>(
            'GET',
            `/v1/jobs/${cmd.args[0] as string}`,
          ),
        );
        emit(
          g,
          r,
          (j) => `${humanJob(j)}\n\njournal:\n${j.journal.map((l) => `  ${l.at}  ${l.entry}`).join('\n')}`,
        );
      }),
    );
  job
    .command('resume <id>')
    .description('continue an interrupted offline copy where it stopped')
    .action(
      runVerb(async (_f, g: GlobalOptions, cmd) => {
        const job = await withClient(g, async (c) => {
          const started = await c.call<JobInfo>('POST', `/v1/jobs/${cmd.args[0] as string}/resume`);
          return follow(c, started.id, !g.json);
        });
        const err = endError(job);
        if (err) throw err;
        emit(g, job, humanJob);
      }),
    );
  job
    .command('resolve <id>')
    .description(
      'settle a migration whose outcome is unknown (needs-operator): the target is asked first, and must agree',
    )
    .option('--source-runs', 'the VM runs on the source again (the target must not have committed)')
    .option('--target-runs', 'the target runs the VM (it must have committed); the source copy is retired')
    .option('--force', 'decide even when the target cannot be asked: only if you know it does not run the VM')
    .action(
      runVerb(
        async (f: { sourceRuns?: boolean; targetRuns?: boolean; force?: boolean }, g: GlobalOptions, cmd) => {
          if (f.sourceRuns === f.targetRuns) {
            throw new VmhopError(
              'VMHOP_ERR_USAGE',
              'say who runs the VM: --source-runs or --target-runs (one of them)',
              {},
            );
          }
          const body = { runs: f.sourceRuns ? 'source' : 'target', force: f.force === true };
          const j = await withClient(g, (c) =>
            c.call<JobInfo>('POST', `/v1/jobs/${encodeURIComponent(cmd.args[0] as string)}/resolve`, body),
          );
          emit(g, j, humanJob);
        },
      ),
    );
  job
    .command('abort <id>')
    .description('cancel a running job')
    .action(
      runVerb(async (_f, g: GlobalOptions, cmd) =>
        emit(
          g,
          await withClient(g, (c) => c.call<JobInfo>('POST', `/v1/jobs/${cmd.args[0] as string}/abort`)),
          (j) => `cancelling job ${j.id}`,
        ),
      ),
    );
}
