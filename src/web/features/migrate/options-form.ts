// The migrate dialog's choices and how they become a MigrateRequest (mode + options).
// "live-copy" has two flavours in the UI (full or incremental) that are one mode with
// copyStorage in the API, as virsh's --copy-storage-all / --copy-storage-inc.
import type { MigrationMode, MigrationOptions } from '../../../protocol/migration.js';
import type { PolicyName } from '../../../protocol/policy.js';

export type ModeChoice = 'offline' | 'live-shared' | 'live-copy-full' | 'live-copy-inc';

export const MODE_CHOICES: { value: ModeChoice; label: string; hint: string }[] = [
  { value: 'live-shared', label: 'Live, shared storage', hint: 'RAM moves; disks stay on the shared pool' },
  { value: 'live-copy-full', label: 'Live, copy storage (full)', hint: 'disks are copied while the VM runs' },
  {
    value: 'live-copy-inc',
    label: 'Live, copy storage (incremental)',
    hint: 'only the top layer over a base both hosts have',
  },
  { value: 'offline', label: 'Offline', hint: 'the VM is stopped (or saved) and its files moved' },
];

export type TimeoutActionChoice = MigrationOptions['timeoutAction'];

export interface OptionFields {
  /** '': the agent's own migrationPolicy. */
  policy: '' | PolicyName;
  bandwidthMiBs: string;
  maxDowntimeMs: string;
  autoConverge: boolean;
  postcopy: boolean;
  postcopyAfterPrecopy: boolean;
  parallel: string;
  compressed: '' | 'zstd' | 'zlib';
  timeoutS: string;
  timeoutAction: TimeoutActionChoice;
  /** '': each copied disk keeps its pool name on the target. */
  targetPool: string;
  /** undefined: the agent picks (every disk not on a shared pool), as without --migrate-disks. */
  migrateDisks?: string[];
  keepSource: boolean;
  keepState: boolean;
  deleteSource: boolean;
}

export const DEFAULT_FIELDS: OptionFields = {
  policy: '',
  bandwidthMiBs: '',
  maxDowntimeMs: '',
  autoConverge: false,
  postcopy: false,
  postcopyAfterPrecopy: false,
  parallel: '',
  compressed: '',
  timeoutS: '',
  timeoutAction: 'abort',
  targetPool: '',
  keepSource: false,
  keepState: false,
  deleteSource: false,
};

/** Empty fields are left out (the agent's defaults apply); numbers go as typed, so the
 *  agent's own validation, not a second copy of it here, judges them. */
export function toRequest(
  vm: string,
  to: string,
  choice: ModeChoice,
  f: OptionFields,
  dryRun: boolean,
): { vm: string; to: string; mode: MigrationMode; options: Partial<MigrationOptions>; dryRun: boolean } {
  const n = (s: string) => (s.trim() === '' ? undefined : Number(s));
  const options: Partial<MigrationOptions> = {
    autoConverge: f.autoConverge,
    postcopy: f.postcopy,
    postcopyAfterPrecopy: f.postcopy && f.postcopyAfterPrecopy,
    keepSource: f.keepSource,
    keepState: f.keepState,
    deleteSource: f.deleteSource,
  };
  const bw = n(f.bandwidthMiBs);
  if (bw !== undefined) options.bandwidthMiBs = bw;
  const dt = n(f.maxDowntimeMs);
  if (dt !== undefined) options.maxDowntimeMs = dt;
  const par = n(f.parallel);
  if (par !== undefined) options.parallel = par;
  if (f.compressed) options.compressed = f.compressed;
  if (f.policy) options.policy = f.policy;
  const timeout = n(f.timeoutS);
  if (timeout !== undefined) {
    options.timeoutS = timeout;
    options.timeoutAction = f.timeoutAction;
  }
  const copies = choice !== 'live-shared';
  if (copies && f.targetPool) options.targetPool = f.targetPool;
  if (choice.startsWith('live-copy') && f.migrateDisks) options.migrateDisks = f.migrateDisks;
  if (choice === 'live-copy-full') options.copyStorage = 'all';
  if (choice === 'live-copy-inc') options.copyStorage = 'inc';
  const mode: MigrationMode = choice.startsWith('live-copy') ? 'live-copy' : (choice as MigrationMode);
  return { vm, to, mode, options, dryRun };
}
