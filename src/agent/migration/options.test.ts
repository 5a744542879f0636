import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isVmhopError } from '../../protocol/errors.js';
import { MigrationOptions } from '../../protocol/migration.js';
import { planMigrationSettings, unlimitedBandwidthBps } from './options.js';
import {
  contextOf,
  optionsFixtureDir,
  qemuFactsOf,
  type OptionsFixtureInput as Input,
} from './options-fixtures.js';

const dir = optionsFixtureDir;
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.input.json'))
  .map((f) => f.replace('.input.json', ''));

function outcome(input: Input): unknown {
  try {
    return planMigrationSettings(MigrationOptions.parse(input.options), contextOf(input));
  } catch (e) {
    if (!isVmhopError(e)) throw e;
    return { error: { code: e.code, message: e.message } };
  }
}

describe('planMigrationSettings golden files', () => {
  it.each(cases)('%s plans the recorded settings', (name) => {
    const input = JSON.parse(readFileSync(join(dir, `${name}.input.json`), 'utf8')) as Input;
    const golden = join(dir, `${name}.expected.json`);
    const result = outcome(input);
    if (process.env.UPDATE_GOLDEN) writeFileSync(golden, JSON.stringify(result, null, 2) + '\n');
    expect(result).toEqual(JSON.parse(readFileSync(golden, 'utf8')));
    // The fixture name says which it is, so a refusal cannot slip into the accepted set unnoticed.
    expect('error' in (result as object)).toBe(name.startsWith('error-'));
  });
});

describe('planMigrationSettings', () => {
  const tls = { credsId: 'c', hostname: 'h' };

  it('sends a no-cap bandwidth that survives the JSON round trip exactly', () => {
    const plan = planMigrationSettings(MigrationOptions.parse({}), { tls });
    expect(plan.source.parameters['max-bandwidth']).toBe(unlimitedBandwidthBps);
    expect(JSON.parse(JSON.stringify(unlimitedBandwidthBps))).toBe(unlimitedBandwidthBps);
    expect(Number.isSafeInteger(unlimitedBandwidthBps)).toBe(true);
  });

  it('converts MiB/s to whole bytes/s', () => {
    const plan = planMigrationSettings(MigrationOptions.parse({ bandwidthMiBs: 0.3 }), { tls });
    expect(plan.source.parameters['max-bandwidth']).toBe(314573);
  });

  const qemu = (source: string, target: string) => ({
    source: qemuFactsOf(source),
    target: qemuFactsOf(target),
  });

  it('refuses with details listing every refusal', () => {
    const opts = MigrationOptions.parse({ compressed: 'zlib', postcopyAfterPrecopy: true });
    try {
      planMigrationSettings(opts, { qemu: qemu('7.2.22/tcg', '10.0.2/tcg') });
      expect.unreachable();
    } catch (e) {
      expect(isVmhopError(e) && e.code).toBe('VMHOP_ERR_MIGRATION_OPTIONS');
      // compressed without parallel, postcopy-after-precopy without postcopy, no TLS, 7.2 under TCG
      expect(isVmhopError(e) && (e.details['refusals'] as string[]).length).toBe(4);
    }
  });

  it('refuses a compression method one side does not have, naming what it has', () => {
    const target = { ...qemuFactsOf('10.0.2/kvm') };
    target.features = { ...target.features, multifdCompression: ['none', 'zlib'] };
    const opts = MigrationOptions.parse({ parallel: 2, compressed: 'zstd' });
    expect(() =>
      planMigrationSettings(opts, { tls, qemu: { source: qemuFactsOf('10.0.2/kvm'), target } }),
    ).toThrow(
      "--compressed zstd: the target's QEMU 10.0.2 has no multifd compression `zstd` (it has none, zlib)",
    );
  });

  it('refuses a capability the plan sets that one side does not know, even when set to false', () => {
    const source = { ...qemuFactsOf('10.0.2/kvm') };
    source.features = {
      ...source.features,
      migrationCapabilities: source.features.migrationCapabilities.filter((c) => c !== 'auto-converge'),
    };
    expect(() =>
      planMigrationSettings(MigrationOptions.parse({}), {
        tls,
        qemu: { source, target: qemuFactsOf('10.0.2/kvm') },
      }),
    ).toThrow("the source's QEMU 10.0.2 has no migration capability `auto-converge`");
  });

  it('does not let --force run what cannot work at all: post-copy with multifd stays refused', () => {
    const opts = MigrationOptions.parse({ postcopy: true, parallel: 2, force: true });
    expect(() => planMigrationSettings(opts, { tls, qemu: qemu('10.0.2/tcg', '10.0.2/tcg') })).toThrow(
      /Postcopy is not yet compatible with multifd/,
    );
  });
});
