// The migrate dialog's choices and how they become a MigrateRequest (mode + options).
// "live-copy" has two flavours in the UI (full or incremental) that are one mode with
// copyStorage in the API, as virsh's --copy-storage-all / --copy-storage-inc.
import type { MigrationMode, MigrationOptions } from '../../../protocol/migration.js';

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

export interface OptionFields {
  bandwidthMiBs: string;
  maxDowntimeMs: string;
  autoConverge: boolean;
  postcopy: boolean;
  postcopyAfterPrecopy: boolean;
  parallel: string;
  compressed: '' | 'zstd';
  keepSource: boolean;
  keepState: boolean;
  deleteSource: boolean;
}

export const DEFAULT_FIELDS: OptionFields = {
  bandwidthMiBs: '',
  maxDowntimeMs: '',
  autoConverge: false,
  postcopy: false,
  postcopyAfterPrecopy: false,
  parallel: '',
  compressed: '',
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
  if (choice === 'live-copy-full') options.copyStorage = 'all';
  if (choice === 'live-copy-inc') options.copyStorage = 'inc';
  const mode: MigrationMode = choice.startsWith('live-copy') ? 'live-copy' : (choice as MigrationMode);
  return { vm, to, mode, options, dryRun };
}
