// Source, live-copy: the mirrors of one job (NBD client node and block job per disk) and
// how each ended. QEMU dismisses a finished job at once, so its outcome is only in the
// BLOCK_JOB_COMPLETED / CANCELLED event; the collector subscribes before the first mirror
// starts (events often arrive before the command's reply) and keeps them by job id.
import type { QmpSession } from '../../../qmp/index.js';

/** The x509 object the NBD client nodes use (the RAM stream's own is replaced under them). */
export const NBD_TLS_OBJECT_ID = 'vmhop-tls-nbd';

export interface MirrorJob {
  target: string;
  /** Block job id (`device` in QEMU's job events). */
  jobId: string;
  /** The NBD client node the mirror writes to. */
  node: string;
}

export interface Mirrors {
  qmp: QmpSession;
  jobs: MirrorJob[];
  /** Ended jobs: `completed` (no error) is success, also for a ready mirror ended by block-job-cancel. */
  ended: Map<string, { event: 'completed' | 'cancelled'; error?: string }>;
  /** Jobs blockdev-mirror was asked to start (recorded before the command); only these are cancelled or waited for. */
  started: Set<string>;
  /**
   * NBD client nodes blockdev-add was asked to open (recorded before the command, so one whose
   * reply was lost is deleted too); only these are deleted.
   */
  attached: Set<string>;
  /** The NBD TLS object was asked for (object-add sent). */
  tlsObject: boolean;
  /** The target's NBD server, once a node connected to it. */
  server?: { address: string; port: number };
  close(): void;
}

export function mirrorJobs(qmp: QmpSession, jobId: string, targets: readonly string[]): Mirrors {
  const short = jobId.slice(0, 8);
  const ended: Mirrors['ended'] = new Map();
  const stream = qmp.events(['BLOCK_JOB_COMPLETED', 'BLOCK_JOB_CANCELLED']);
  void (async () => {
    try {
      for await (const ev of stream) {
        const error = ev.event === 'BLOCK_JOB_COMPLETED' ? ev.data.error : undefined;
        ended.set(ev.data.device, {
          event: ev.event === 'BLOCK_JOB_COMPLETED' ? 'completed' : 'cancelled',
          ...(error ? { error } : {}),
        });
      }
    } catch {
      // The QEMU went away: the waits notice it through their own commands.
    }
  })();
  return {
    qmp,
    jobs: targets.map((t) => ({ target: t, jobId: `mirror-${short}-${t}`, node: `nbd-${short}-${t}` })),
    ended,
    started: new Set(),
    attached: new Set(),
    tlsObject: false,
    close: () => void stream.return(),
  };
}
