// `vmhop vol-copy POOL/VOL --to HOST [--target-pool P]`: copies one volume (with its backing
// chain) to another host the way an offline migration copies a disk: sparse, verified,
// resumable (run it again after an interruption). Follows the job like `migrate`.
import type { Command } from 'commander';
import { VmhopError } from '../../protocol/errors.js';
import type { JobInfo } from '../../protocol/migration.js';
import { withClient, type GlobalOptions } from '../connect.js';
import { emit } from '../../terminal/emit.js';
import { humanJob } from '../output/job.js';
import { runVerb } from '../run-verb.js';
import { endError, follow } from './migrate.js';

export function registerVolCopyVerb(program: Command): void {
  program
    .command('vol-copy <volume>')
    .description('copy POOL/VOLUME to another host (sparse, verified, resumable)')
    .requiredOption('--to <host>', 'target host (a peer of this agent)')
    .option('--target-pool <pool>', 'pool on the target (default: the same name)')
    .action(
      runVerb(async (f: { to: string; targetPool?: string }, g: GlobalOptions, cmd) => {
        const [pool, volume, ...rest] = (cmd.args[0] as string).split('/');
        if (!pool || !volume || rest.length) {
          throw new VmhopError('VMHOP_ERR_USAGE', `\`${cmd.args[0] as string}\` is not POOL/VOLUME`, {});
        }
        const job = await withClient(g, async (c) => {
          const started = await c.call<JobInfo>('POST', '/v1/volumes/copy', {
            pool,
            volume,
            to: f.to,
            ...(f.targetPool ? { targetPool: f.targetPool } : {}),
          });
          const onSigint = () => void c.call('POST', `/v1/jobs/${started.id}/abort`).catch(() => undefined);
          process.on('SIGINT', onSigint);
          try {
            return await follow(c, started.id, !g.json);
          } finally {
            process.off('SIGINT', onSigint);
          }
        });
        const err = endError(job);
        if (err) throw err;
        emit(g, job, humanJob);
      }),
    );
}
