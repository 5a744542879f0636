// Source, live-copy: follows the mirrors until every one is READY (source and target equal,
// guest writes now mirrored as they happen), publishing bytes done/total per disk. A stall
// watchdog (no mirrored byte for stallTimeoutMs: a silent link drop, which TCP sits out for
// many minutes), a failed job, --timeout and a cancel all end the wait with an error. Mirrors
// that do not converge are switched to write-blocking or ended by the policy (mirror-convergence.ts).
import { queryBlockJobs } from '../../../qmp/index.js';
import { VmhopError } from '../../../protocol/errors.js';
import type { MigrationOptions } from '../../../protocol/migration.js';
import { writtenBytes, type CopyMode } from './choose-copy-mode.js';
import { actOnMirrors, MirrorJudge } from './mirror-convergence.js';
import type { Mirrors } from './mirror-jobs.js';

export interface DiskProgress {
  target: string;
  doneBytes: number;
  totalBytes: number;
}

export interface WaitReadyOptions {
  signal: AbortSignal;
  options: MigrationOptions;
  /** The copy mode the mirrors started in (background mirrors may be switched by the policy). */
  copyMode?: CopyMode;
  /** What the policy did to the mirrors and why, for the journal and the report. */
  onPolicy?: (text: string) => void;
  onProgress: (disks: DiskProgress[]) => void;
  intervalMs?: number;
}

const failed = (message: string, details: Record<string, unknown> = {}) =>
  new VmhopError('VMHOP_ERR_MIGRATION_FAILED', message, details);

/**
 * A monitor that stops answering is a stall too: QEMU 7.2 and 10.0.2 both hang their monitor while
 * an NBD request waits on a silent peer, so every query here is bounded by the stall timeout and
 * its timeout is reported as one, whichever query met it.
 */
function bounded<T>(w: WaitReadyOptions, ask: (o: { timeoutMs: number }) => Promise<T>): Promise<T> {
  return ask({ timeoutMs: w.options.stallTimeoutMs }).catch((e: unknown) => {
    throw failed(
      `QEMU did not answer for ${w.options.stallTimeoutMs / 1000} s (stall timeout) during the disk copy: ${(e as Error).message}`,
    );
  });
}

export async function waitMirrorsReady(m: Mirrors, w: WaitReadyOptions): Promise<DiskProgress[]> {
  const started = Date.now();
  let lastDone = -1;
  let lastMoveAt = started;
  let mode = w.copyMode ?? 'background';
  const judge = new MirrorJudge();
  const targets = m.jobs.map((j) => j.target);
  for (;;) {
    if (w.signal.aborted) {
      throw new VmhopError(
        'VMHOP_ERR_MIGRATION_CANCELLED',
        'the migration was cancelled during the disk copy',
        {
          reason: String(w.signal.reason ?? 'cancel'),
        },
      );
    }
    const live = await bounded(w, (o) => queryBlockJobs(m.qmp, o));
    const now = Date.now();
    const disks: DiskProgress[] = [];
    let allReady = true;
    for (const j of m.jobs) {
      const job = live.find((x) => x.device === j.jobId);
      if (!job) {
        const end = m.ended.get(j.jobId);
        throw failed(
          `the copy of disk ${j.target} ended before it was complete: ${end?.error ?? end?.event ?? 'the job vanished'}`,
          { disk: j.target },
        );
      }
      if (job['io-status'] === 'failed')
        throw failed(`the copy of disk ${j.target} hit an I/O error`, { disk: j.target });
      disks.push({ target: j.target, doneBytes: job.offset, totalBytes: job.len });
      allReady &&= job.ready;
    }
    w.onProgress(disks);
    if (allReady) return disks;
    const done = disks.reduce((s, d) => s + d.doneBytes, 0);
    if (done !== lastDone) {
      lastDone = done;
      lastMoveAt = now;
    } else if (now - lastMoveAt > w.options.stallTimeoutMs) {
      throw failed(
        `no disk copy progress for ${Math.round((now - lastMoveAt) / 1000)} s (stall timeout ${w.options.stallTimeoutMs / 1000} s): the migration link is down or blocked`,
        { stalledMs: now - lastMoveAt },
      );
    }
    const why = judge.observe(
      {
        at: now,
        left: disks.reduce((s, d) => s + d.totalBytes - d.doneBytes, 0),
        copied: done,
        written: await bounded(w, (o) => writtenBytes(m.qmp, targets, o)),
      },
      mode,
    );
    if (why) {
      const note = await actOnMirrors(m, w.options, mode, why);
      if (note) {
        mode = 'write-blocking';
        judge.reset();
        w.onPolicy?.(note);
      }
    }
    if (w.options.timeoutS && now - started > w.options.timeoutS * 1000) {
      throw failed(`the disks were not copied within --timeout ${w.options.timeoutS} s`, {});
    }
    await new Promise((r) => setTimeout(r, w.intervalMs ?? 250));
  }
}
