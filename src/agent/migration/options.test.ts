import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isVmhopError } from '../../protocol/errors.js';
import { MigrationOptions } from '../../protocol/migration.js';
import { planMigrationSettings, unlimitedBandwidthBps, type MigrationSettingsContext } from './options.js';

const dir = join(import.meta.dirname, '../../../test/fixtures/migration-options');
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.input.json'))
  .map((f) => f.replace('.input.json', ''));

type Input = { options: unknown; ctx: MigrationSettingsContext };

function outcome(input: Input): unknown {
  try {
    return planMigrationSettings(MigrationOptions.parse(input.options), input.ctx);
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

  it('refuses with details listing every refusal', () => {
    const opts = MigrationOptions.parse({ compressed: 'zlib', postcopyAfterPrecopy: true });
    try {
      planMigrationSettings(opts, {});
      expect.unreachable();
    } catch (e) {
      expect(isVmhopError(e) && e.code).toBe('VMHOP_ERR_MIGRATION_OPTIONS');
      expect(isVmhopError(e) && (e.details['refusals'] as string[]).length).toBe(4);
    }
  });
});
