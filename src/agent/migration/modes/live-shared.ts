// Live migration over shared storage: only RAM and device state move. Composes the steps:
// prepare on the target, start + watch on the source, switchover at the pre-switchover
// pause, commit on the target, retire the source. Before the commit every failure resumes
// the source; after it the source is never resumed; an unknown outcome leaves it paused.
import { VmhopError } from '../../../protocol/errors.js';
import { PROTOCOL_VERSION } from '../../../protocol/host.js';
import type { MigrationInfo } from '../../../qmp/index.js';
import { commitOnTarget } from '../outgoing/commit.js';
import { retireSource } from '../outgoing/retire-source.js';
import { cancelAndResume } from '../outgoing/rollback.js';
import { startMigration } from '../outgoing/start-migration.js';
import { completeSwitchover } from '../outgoing/switchover.js';
import { watchUntilSwitchover } from '../outgoing/watch-migration.js';
import type { ModeResult, ModeRun, ModeRunner } from './types.js';

export const runLiveShared: ModeRunner = async (r: ModeRun): Promise<ModeResult> => {
  const { c, job, vm, peer } = r;
  const t0 = Date.now();
  c.jobs.advance(job.id, 'prepare', `asking \`${peer.name}\` to prepare`);
  const tls = !job.options.insecure;
  const target = await peer.prepare({
    protocolVersion: PROTOCOL_VERSION,
    jobId: job.id,
    mode: job.mode,
    source: c.config.name,
    spec: vm.spec,
    settings: r.settings.target,
    tls,
    options: job.options,
  });
  c.jobs.advance(job.id, 'perform', `target listens on ${target.address}:${target.port}`);
  const qmp = c.supervisor.qmpOf(vm.name);
  if (!qmp)
    throw new VmhopError('VMHOP_ERR_VM_STATE', `VM \`${vm.name}\` has no running QEMU here`, { vm: vm.name });
  const wasRunning = vm.state === 'running';
  const setupMs = Date.now() - t0;
  let last: MigrationInfo | undefined;
  let pausedAt: number;
  let notes: string[] = [];
  try {
    await startMigration(qmp, r.settings.source, target, tls ? c.tlsDir : undefined);
    ({ pausedAt, notes } = await watchUntilSwitchover(qmp, {
      signal: r.signal,
      options: job.options,
      onSample: (info, at) => {
        last = info;
        r.onSample(info, at, 'ram');
      },
    }));
    c.jobs.journal(job.id, 'source paused at pre-switchover');
    last = await completeSwitchover(qmp);
    r.onSample(last, Date.now(), 'switchover');
  } catch (e) {
    await cancelAndResume(qmp, wasRunning).catch((err: unknown) =>
      c.log.error({ err }, 'rollback on the source failed'),
    );
    await peer.abort(job.id, (e as Error).message).catch(() => undefined);
    throw e;
  }
  c.jobs.advance(job.id, 'finish', 'RAM and device state sent; asking the target to commit');
  const outcome = await commitOnTarget(peer, job.id);
  if (!outcome.committed) {
    if (outcome.known) {
      // The target refused before resuming: the guest is only here, stopped. Run it again.
      await cancelAndResume(qmp, wasRunning);
      throw new VmhopError(
        'VMHOP_ERR_MIGRATION_FAILED',
        `the target did not take over: ${outcome.error.message}`,
        {},
      );
    }
    throw new VmhopError(
      'VMHOP_ERR_MIGRATION_OUTCOME_UNKNOWN',
      `no answer from \`${peer.name}\` on whether it resumed \`${vm.name}\`: the source stays paused; check the target and run \`vmhop job show ${job.id}\``,
      { job: job.id, cause: outcome.error.message },
    );
  }
  c.jobs.advance(job.id, 'confirm', 'the target runs the VM; retiring the source');
  await retireSource(c, vm.name, peer.name, job.options.keepSource);
  return {
    setupMs,
    downtimeMs: outcome.at - pausedAt,
    ...(last?.downtime !== undefined ? { qemuDowntimeMs: last.downtime } : {}),
    ramBytes: last?.ram?.transferred ?? 0,
    ...(last?.ram ? { ramNonZeroBytes: last.ram.total - last.ram.duplicate * last.ram['page-size'] } : {}),
    passes: last?.ram?.['dirty-sync-count'] ?? 0,
    notes,
  };
};
