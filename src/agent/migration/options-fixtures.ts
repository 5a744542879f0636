// For the options tests: the golden fixtures' inputs (test/fixtures/migration-options/), whose QEMU
// facts name a recorded QEMU (qemu/VERSION.json, features as host info reports them) and an
// accelerator per side, turned into planMigrationSettings' context.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { QemuFeatures } from '../../protocol/host.js';
import type { MigrationSettingsContext } from './options.js';
import type { QemuFacts } from './qemu-rules.js';

export const optionsFixtureDir = join(import.meta.dirname, '../../../test/fixtures/migration-options');
const dir = optionsFixtureDir;

export type OptionsFixtureInput = {
  options: unknown;
  ctx: Omit<MigrationSettingsContext, 'qemu'>;
  /** Each side as `VERSION/ACCEL`; VERSION names a QEMU recorded in qemu/VERSION.json. */
  qemu?: { source: string; target: string };
};

export function qemuFactsOf(side: string): QemuFacts {
  const [version, accel] = side.split('/') as [string, 'kvm' | 'tcg'];
  const recorded = JSON.parse(readFileSync(join(dir, 'qemu', `${version}.json`), 'utf8')) as {
    features: QemuFeatures;
  };
  return { version, accel, features: recorded.features };
}

export function contextOf(input: OptionsFixtureInput): MigrationSettingsContext {
  if (!input.qemu) return input.ctx;
  return {
    ...input.ctx,
    qemu: { source: qemuFactsOf(input.qemu.source), target: qemuFactsOf(input.qemu.target) },
  };
}
