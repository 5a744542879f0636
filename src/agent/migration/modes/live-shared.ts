// Live migration over shared storage: only RAM and device state move. Composes the steps:
// prepare on the target, start + watch on the source, switchover at the pre-switchover
// pause, commit on the target, retire the source. Before the commit every failure resumes
// the source; after it the source is never resumed; an unknown outcome leaves it paused.
// A switch to post-copy ends the job in live-postcopy.ts instead.
import { cancelAndResume } from '../outgoing/rollback.js';
import type { SwitchoverPause } from '../outgoing/watch-migration.js';
import {
  commitAndRetire,
  prepareTarget,
  ramFigures,
  runUntilPause,
  sourceQmp,
  switchOver,
  type RamResult,
  pauseFigures,
} from './live-common.js';
import { finishWithPostcopy } from './live-postcopy.js';
import type { ModeResult, ModeRun, ModeRunner } from './types.js';

export const runLiveShared: ModeRunner = async (r: ModeRun): Promise<ModeResult> => {
  const { c, job, vm, peer } = r;
  const t0 = Date.now();
  const target = await prepareTarget(r);
  const qmp = sourceQmp(r);
  const wasRunning = vm.state === 'running';
  const setupMs = Date.now() - t0;
  let pause: SwitchoverPause;
  let ram: RamResult | undefined;
  try {
    pause = await runUntilPause(r, qmp, target);
    if (!pause.postcopy) ram = await switchOver(r, qmp, pause);
  } catch (e) {
    await cancelAndResume(qmp, wasRunning).catch((err: unknown) =>
      c.log.error({ err }, 'rollback on the source failed'),
    );
    await peer.abort(job.id, (e as Error).message).catch(() => undefined);
    throw e;
  }
  if (!ram) {
    const postcopy = pause.postcopy as NonNullable<SwitchoverPause['postcopy']>;
    return { setupMs, ...(await finishWithPostcopy(r, qmp, target, { ...pause, postcopy }, wasRunning)) };
  }
  const pauseOf = pauseFigures(await commitAndRetire(r, qmp, wasRunning), ram.pausedAt);
  return {
    setupMs,
    ...pauseOf,
    ...ramFigures(ram.last),
    notes: [...ram.notes, ...pauseOf.notes],
  };
};
