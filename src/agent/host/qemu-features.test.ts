// The features host info reports, derived from the QMP schema and migration capabilities recorded
// from QEMU 7.2 and 10.0 (qmp-schema transcripts), checked against what the options goldens use
// as those QEMUs' facts (test/fixtures/migration-options/qemu/), so the two cannot drift apart.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MigrationCapabilityStatus, SchemaInfo } from '../../qmp/index.js';
import { loadTranscript, recordedReply, transcriptVersions } from '../../qmp/testing/transcript.js';
import { compareQemuVersions, qemuFeaturesOf } from './qemu-features.js';

const optionFacts = join(import.meta.dirname, '../../../test/fixtures/migration-options/qemu');
const recordedFull = { '7.2': '7.2.22', '10.0': '10.0.2' } as const;

function featuresOf(version: (typeof transcriptVersions)[number]) {
  const t = loadTranscript('qmp-schema', version);
  const schema = (recordedReply(t, 'query-qmp-schema') as { return: SchemaInfo[] }).return;
  const caps = (recordedReply(t, 'query-migrate-capabilities') as { return: MigrationCapabilityStatus[] })
    .return;
  return qemuFeaturesOf(schema, caps);
}

describe.each(transcriptVersions)('features of the recorded QEMU %s', (version) => {
  it('are the facts the options goldens use for it', () => {
    const facts = JSON.parse(readFileSync(join(optionFacts, `${recordedFull[version]}.json`), 'utf8')) as {
      features: unknown;
    };
    expect(featuresOf(version)).toEqual(facts.features);
  });
});

describe('qemuFeaturesOf', () => {
  it('tells 7.2 from 10.0 by what their schemas have, not by their version', () => {
    const [old, cur] = [featuresOf('7.2'), featuresOf('10.0')];
    expect(old.commands).not.toContain('block-job-change');
    expect(cur.commands).toContain('block-job-change');
    expect(old.migrationCapabilities).not.toContain('dirty-limit');
    expect(cur.migrationCapabilities).toEqual(
      expect.arrayContaining(['dirty-limit', 'switchover-ack', 'mapped-ram']),
    );
    expect(cur.migrationCapabilities).not.toContain('block');
    expect(old.migrationParameters).toContain('compress-level');
    expect(cur.migrationParameters).toEqual(
      expect.arrayContaining(['vcpu-dirty-limit', 'zero-page-detection']),
    );
    expect(old.multifdCompression).toEqual(['none', 'zlib', 'zstd']);
    expect(cur.multifdCompression).toEqual(['none', 'zlib', 'zstd']);
  });

  it('reports nothing it cannot find rather than guessing', () => {
    expect(qemuFeaturesOf([], [])).toEqual({
      migrationCapabilities: [],
      migrationParameters: [],
      multifdCompression: [],
      commands: [],
    });
  });
});

describe('compareQemuVersions', () => {
  it('orders by major, minor and micro as numbers', () => {
    expect(compareQemuVersions('10.0.2', '7.2.22')).toBeGreaterThan(0);
    expect(compareQemuVersions('7.2.22', '7.2.3')).toBeGreaterThan(0);
    expect(compareQemuVersions('7.2.22', '7.2.22')).toBe(0);
    expect(compareQemuVersions('9.2.0', '10.0.0')).toBeLessThan(0);
  });
});
