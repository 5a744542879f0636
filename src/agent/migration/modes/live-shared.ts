// Live migration over shared storage: only RAM and device state move. Composes the steps:
// prepare on the target, start + watch on the source, switchover at the pre-switchover
// pause, commit on the target, retire the source. Before the commit every failure runs the
// undo list (migrate_cancel, the guest resumed, the target's side dropped); after it the
// source is never resumed; an unknown outcome leaves it paused.
// A switch to post-copy ends the job in live-postcopy.ts instead.
import type { SwitchoverPause } from '../outgoing/watch-migration.js';
import {
  commitAndRetire,
  prepareTarget,
  ramFigures,
  rollBack,
  runUntilPause,
  sourceQmp,
  sourceUndo,
  switchOver,
  type RamResult,
  pauseFigures,
} from './live-common.js';
import { finishWithPostcopy } from './live-postcopy.js';
import type { ModeResult, ModeRun, ModeRunner } from './types.js';

export const runLiveShared: ModeRunner = async (r: ModeRun): Promise<ModeResult> => {
  const { vm } = r;
  const t0 = Date.now();
  const undo = sourceUndo(r);
  const wasRunning = vm.state === 'running';
  let pause: SwitchoverPause;
  let ram: RamResult | undefined;
  let setupMs = 0;
  try {
    const target = await prepareTarget(r, undo);
    const qmp = sourceQmp(r);
    setupMs = Date.now() - t0;
    pause = await runUntilPause(r, qmp, target, { undo, wasRunning });
    if (!pause.postcopy) ram = await switchOver(r, qmp, pause);
    else {
      const postcopy = pause.postcopy;
      return { setupMs, ...(await finishWithPostcopy(r, qmp, target, { ...pause, postcopy }, undo)) };
    }
  } catch (e) {
    await rollBack(undo, e);
    throw e;
  }
  const pauseOf = pauseFigures(await commitAndRetire(r, undo), ram.pausedAt);
  return {
    setupMs,
    ...pauseOf,
    ...ramFigures(ram.last),
    notes: [...ram.notes, ...pauseOf.notes],
  };
};
