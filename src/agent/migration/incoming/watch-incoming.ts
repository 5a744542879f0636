// The target's own watchdog for an uncommitted incoming migration: it cleans up without
// waiting to be told when its QEMU died, when the source says the job ended, or when the
// source cannot be reached for longer than the stall timeout (a cut link must not leave a
// paused QEMU behind). Aborting before the commit is always safe: the target never ran.
import type { MigrationContext } from '../context.js';

const INTERVAL_MS = 1_000;

export async function watchIncoming(
  c: MigrationContext,
  jobId: string,
  abort: (reason: string) => Promise<void>,
): Promise<void> {
  const job = c.jobs.get(jobId);
  let lastHeard = Date.now();
  // Bounded by the job's own end: every path below either returns or the job leaves 'running'.
  for (;;) {
    await new Promise((r) => setTimeout(r, INTERVAL_MS));
    const now = c.jobs.find(jobId);
    if (!now || now.state !== 'running' || now.phase === 'finish') return;
    let reason: string | undefined;
    if (!c.supervisor.qmpOf(job.vm)) reason = 'the target QEMU exited';
    else {
      try {
        const src = await c.peer(job.peer).job(jobId);
        lastHeard = Date.now();
        if (src.state !== 'running') reason = `the source ended the job (${src.state})`;
      } catch (e) {
        if (Date.now() - lastHeard > job.options.stallTimeoutMs) {
          reason = `the source agent has not answered for ${Math.round((Date.now() - lastHeard) / 1000)} s: ${(e as Error).message}`;
        }
      }
    }
    if (reason) {
      c.log.warn({ job: jobId, reason }, 'aborting incoming migration');
      await abort(reason).catch((e: unknown) => c.log.error({ job: jobId, err: e }, 'incoming abort failed'));
      return;
    }
  }
}
