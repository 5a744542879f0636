// Admission: whether a migration, a volume copy or the continuation of an interrupted copy may
// start, and the job row and QEMU settings it starts with. Every refusal happens here, before a
// job exists or anything is touched: contradictory options, a VM or volume already moving, a
// failed pre-flight, an unknown peer, a volume in use. The engine then runs what was admitted.
import { randomUUID } from 'node:crypto';
import { VmhopError } from '../../protocol/errors.js';
import { MigrateRequest, MigrationOptions, type PreflightCheck } from '../../protocol/migration.js';
import type { Prediction } from '../../protocol/prediction.js';
import { MIN_PROTOCOL_VERSION } from '../../protocol/protocol-version.js';
import type { JobRow } from '../db/job-store.js';
import type { MigrationContext } from './context.js';
import { volumeJobKey } from './job-subject.js';
import { modeRunners } from './modes/index.js';
import { planMigrationSettings, type MigrationSettings } from './options.js';
import { applyPolicy } from './policy.js';
import { policyCheck } from './policy-check.js';
import { preflight } from './preflight.js';
import { agreeProtocol } from './preflight-protocol.js';
import { preflightPrediction } from './predict/predict.js';
import { qemuSides } from './preflight-qemu.js';
import type { QemuSides } from './qemu-rules.js';
import { TLS_OBJECT_ID } from './qemu-settings.js';

/** A job ready to run: its row (state running, phase begin) and the settings it runs with. */
export interface Admitted {
  job: JobRow;
  settings: MigrationSettings;
  /** The pre-flight's prediction of a live migration, kept in the report. */
  prediction?: Prediction;
}

/** What a migration request leads to: a dry run's checks, an interrupted copy to continue, or a new job. */
export type MigrationAdmission =
  | { dryRun: true; preflight: PreflightCheck[]; prediction?: Prediction }
  | { continueJob: string; preflight: PreflightCheck[] }
  | (Admitted & { preflight: PreflightCheck[] });

export async function admitMigration(c: MigrationContext, input: unknown): Promise<MigrationAdmission> {
  const req = MigrateRequest.parse(input);
  if (req.mode === 'live-shared' && req.options.copyStorage) req.mode = 'live-copy';
  req.options = applyPolicy(req.options, req.mode, c.config.migrationPolicy);
  refusePostcopyOutsideLiveShared(req.mode, req.options);
  const vm = c.vms.get(req.vm);
  refuseBusy(c, req.vm, `VM \`${req.vm}\` is already being migrated`);
  const peer = c.peer(req.to);
  const interrupted = interruptedCopyOf(c, req.vm);
  if (interrupted && req.mode === 'offline' && !req.dryRun) {
    // An interrupted copy continues where it stopped instead of starting over.
    if (interrupted.peer !== req.to) {
      throw new VmhopError(
        'VMHOP_ERR_MIGRATION_IN_PROGRESS',
        `an interrupted copy of \`${req.vm}\` to \`${interrupted.peer}\` exists (job ${interrupted.id}): resume it, or cancel it with \`vmhop job abort ${interrupted.id}\``,
        { job: interrupted.id },
      );
    }
    return { continueJob: interrupted.id, preflight: interrupted.preflight ?? [] };
  }
  const plan = (hostname: string, qemu?: QemuSides) =>
    planMigrationSettings(req.options, {
      ...(req.options.insecure ? {} : { tls: { credsId: TLS_OBJECT_ID, hostname } }),
      ...(qemu ? { qemu } : {}),
    });
  plan('-'); // refuses contradictory options before anything else; the QEMU rules need the target
  const { checks, protocolVersion, target } = await preflight(c, vm, peer, req.mode, req.options);
  const predict = (quick: boolean) =>
    preflightPrediction({
      c,
      vm,
      peer,
      protocolVersion,
      options: req.options,
      mode: req.mode,
      checks,
      quick,
    });
  // A move measures 1 s (quick); a dry run, or a quick prediction by which the policy would
  // refuse the move, measures the working set too (9 s) before it is believed. A move the
  // pre-flight already refused is not measured at all.
  let prediction = checks.every((k) => k.ok) ? await predict(!req.dryRun) : undefined;
  if (!req.dryRun && prediction && policyCheck(req.options, prediction).some((k) => !k.ok))
    prediction = (await predict(false)) ?? prediction;
  const predicted = prediction ? { prediction } : {};
  checks.push(...policyCheck(req.options, prediction));
  if (req.dryRun) return { dryRun: true, preflight: checks, ...predicted };
  const failed = checks.filter((k) => !k.ok);
  if (failed.length) {
    throw new VmhopError(
      'VMHOP_ERR_MIGRATION_PREFLIGHT',
      `pre-flight failed, nothing was moved: ${failed.map((f) => `${f.name}: ${f.detail}${f.fix ? ` (fix: ${f.fix})` : ''}`).join('; ')}`,
      { checks },
    );
  }
  if (!modeRunners[req.mode]) {
    throw new VmhopError(
      'VMHOP_ERR_MIGRATION_OPTIONS',
      `mode ${req.mode} is not available yet on this agent`,
      {
        mode: req.mode,
      },
    );
  }
  const job = c.jobs.create({
    id: randomUUID(),
    vm: vm.name,
    mode: req.mode,
    role: 'source',
    peer: req.to,
    phase: 'begin',
    options: req.options,
    guestWasRunning: vm.state === 'running',
    // Every check passed, the protocol check too: it found a version both agents speak.
    protocolVersion: protocolVersion ?? MIN_PROTOCOL_VERSION,
  });
  c.jobs.setPreflight(job.id, checks);
  // Every check passed, so the target answered: its host info is the pre-flight's.
  const host = target ?? (await peer.hostInfo());
  const settings = plan(host.migrationAddress, req.mode === 'offline' ? undefined : await qemuSides(c, host));
  return { job, settings, preflight: checks, ...predicted };
}

/** `vol-copy`: one volume copied like an offline migration's disk, as a job filed under POOL/VOLUME. */
export async function admitVolumeCopy(
  c: MigrationContext,
  input: { pool: string; volume: string; to: string; targetPool?: string },
): Promise<Admitted | { continueJob: string }> {
  const key = volumeJobKey(input.pool, input.volume);
  await c.storage.volumeInfo(input.pool, input.volume); // a missing volume names the ones there are
  const user = c.vmStore
    .list()
    .find(
      (v) =>
        v.state !== 'shutoff' && v.spec.disks.some((d) => d.pool === input.pool && d.volume === input.volume),
    );
  if (user) {
    // A file a running guest writes to would arrive torn: copy it offline, or migrate the VM.
    throw new VmhopError(
      'VMHOP_ERR_VOLUME_IN_USE',
      `volume \`${key}\` is a disk of \`${user.name}\`, which is ${user.state}: shut it down first, or migrate the VM`,
      { pool: input.pool, volume: input.volume, vm: user.name },
    );
  }
  refuseBusy(c, key, `volume \`${key}\` is being copied`);
  const interrupted = interruptedCopyOf(c, key);
  if (interrupted && interrupted.peer === input.to) return { continueJob: interrupted.id };
  const options = MigrationOptions.parse(input.targetPool ? { targetPool: input.targetPool } : {});
  // An unknown peer, or one that speaks no version this agent does, is refused before a job exists.
  const protocolVersion = await agreeProtocol(c.config.name, c.peer(input.to));
  const job = c.jobs.create({
    id: randomUUID(),
    vm: key,
    mode: 'offline',
    role: 'source',
    peer: input.to,
    phase: 'begin',
    options,
    protocolVersion,
  });
  return { job, settings: offlineSettings(options) };
}

/** Reopens an interrupted offline copy under the same job id; the target says what it has. */
export function admitContinuation(c: MigrationContext, jobId: string): Admitted {
  const job = c.jobs.get(jobId);
  if (job.role !== 'source' || job.state !== 'interrupted') {
    throw new VmhopError(
      'VMHOP_ERR_VM_STATE',
      `job \`${jobId}\` is ${job.state} (${job.role}): only an interrupted offline copy on its source can be resumed`,
      { job: jobId },
    );
  }
  c.jobs.reopen(jobId, 'continuing the copy where it stopped');
  return { job: c.jobs.get(jobId), settings: offlineSettings(job.options) };
}

/** Offline copies use no QEMU migration settings; planned only to keep one launch path. */
const offlineSettings = (options: MigrationOptions) =>
  planMigrationSettings(options, { tls: { credsId: TLS_OBJECT_ID, hostname: '-' } });

function refuseBusy(c: MigrationContext, key: string, what: string): void {
  const busy = c.jobs.runningFor(key);
  if (busy) {
    throw new VmhopError('VMHOP_ERR_MIGRATION_IN_PROGRESS', `${what} (job ${busy.id}, phase ${busy.phase})`, {
      job: busy.id,
    });
  }
}

const interruptedCopyOf = (c: MigrationContext, key: string) =>
  c.jobs.list().find((j) => j.vm === key && j.role === 'source' && j.state === 'interrupted');

/**
 * Post-copy is driven for live migrations over shared storage. With a disk copy the disks would
 * have to follow the guest's writes after it resumed on the target, which the mirrors cannot do
 * once they are ended at the switchover; offline migrations have no RAM to post-copy.
 */
function refusePostcopyOutsideLiveShared(mode: MigrateRequest['mode'], o: MigrationOptions): void {
  if (mode === 'live-shared') return;
  const asked = [
    ...(o.postcopy ? ['--postcopy'] : []),
    ...(o.postcopyAfterPrecopy ? ['--postcopy-after-precopy'] : []),
    ...(o.timeoutAction === 'postcopy' ? ['--timeout-action postcopy'] : []),
  ];
  if (asked.length) {
    throw new VmhopError(
      'VMHOP_ERR_MIGRATION_OPTIONS',
      `${asked.join(', ')}: post-copy is available only for live migrations over shared storage, not for ${mode === 'live-copy' ? 'a live migration that copies the disks (--copy-storage)' : 'an offline migration'}; drop the option, or use --auto-converge, --bandwidth or --timeout-action suspend`,
      { options: asked, mode },
    );
  }
}
