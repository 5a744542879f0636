// The migration modes the engine can run, by mode name. Each composes steps from
// outgoing/ and asks the target (through the peer link) for the matching incoming steps.
import type { MigrationMode } from '../../../protocol/migration.js';
import { runLiveCopy } from './live-copy.js';
import { runLiveShared } from './live-shared.js';
import { runOffline } from './offline.js';
import type { ModeRunner } from './types.js';

export const modeRunners: Partial<Record<MigrationMode, ModeRunner>> = {
  'live-shared': runLiveShared,
  offline: runOffline,
  'live-copy': runLiveCopy,
};
