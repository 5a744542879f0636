// `vmhop job list|show|resume|resolve|abort`: the migration history of a host (in pages, newest
// first) and what can be done with a job after the fact (resume an interrupted offline copy,
// settle a needs-operator one).
import type { Command } from 'commander';
import { VmhopError } from '../../protocol/errors.js';
import type { JobInfo } from '../../protocol/migration.js';
import type { AgentClient } from '../../client/agent-client.js';
import { withClient, type GlobalOptions } from '../connect.js';
import { emit } from '../../terminal/emit.js';
import { humanJob } from '../output/job.js';
import { runVerb } from '../run-verb.js';
import { endError, follow } from './migrate.js';

const PAGE_MAX = 1_000;
type JobPage = { jobs: JobInfo[]; nextCursor?: string };

function pageLimit(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > PAGE_MAX) {
    throw new VmhopError('VMHOP_ERR_USAGE', `--limit \`${text}\` is not a whole number of 1-${PAGE_MAX}`, {
      limit: text,
    });
  }
  return n;
}

const jobPage = (c: AgentClient, limit: number, cursor?: string) =>
  c.call<JobPage>(
    'GET',
    `/v1/jobs?${new URLSearchParams({ limit: String(limit), ...(cursor ? { cursor } : {}) }).toString()}`,
  );

/** Every page from `cursor` on; bounded by the agent's history, which only shrinks as it is read. */
async function allJobs(c: AgentClient, limit: number, cursor?: string): Promise<JobPage> {
  const jobs: JobInfo[] = [];
  let next = cursor;
  do {
    const page = await jobPage(c, limit, next);
    jobs.push(...page.jobs);
    next = page.nextCursor;
  } while (next);
  return { jobs };
}

export function humanJobList(page: JobPage, host: string | undefined, limit: number): string {
  const lines = page.jobs.map(
    (j) =>
      `${j.id}  ${j.createdAt}  ${j.vm.padEnd(12)} ${j.role.padEnd(6)} ${j.mode.padEnd(11)} -> ${j.peer.padEnd(6)} ${j.state}${j.report ? `  ${(j.report.totalMs / 1000).toFixed(1)} s` : ''}`,
  );
  if (!lines.length) lines.push('no jobs');
  if (page.nextCursor) {
    const c = host ? `-c ${host} ` : '';
    lines.push(
      `more jobs: vmhop ${c}job list --limit ${limit} --cursor ${page.nextCursor}  (or --all for every job)`,
    );
  }
  return lines.join('\n');
}

export function registerJobVerbs(program: Command): void {
  const job = program.command('job').description('migration jobs and their reports');
  job
    .command('list')
    .description('the migration history of this host, newest first, a page at a time')
    .option('--limit <n>', `jobs per page (1-${PAGE_MAX})`, '50')
    .option('--cursor <cursor>', "the page after the one whose hint printed it (the API's nextCursor)")
    .option('--all', 'every job kept on the host, asked for --limit jobs at a time')
    .action(
      runVerb(async (f: { limit: string; cursor?: string; all?: boolean }, g: GlobalOptions) => {
        const limit = pageLimit(f.limit);
        const r = await withClient(g, (c) =>
          f.all ? allJobs(c, limit, f.cursor) : jobPage(c, limit, f.cursor),
        );
        emit(g, r, (x) => humanJobList(x, g.connect, limit));
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
