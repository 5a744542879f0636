// Introspection wrappers replayed against the QEMU 7.2 and 10.0 `introspection` transcript (trimmed lists of
// machine types and CPU models).

import { afterEach, describe, expect, it } from 'vitest';
import { FakeQmpHarness } from '../testing/fake-qmp-harness.js';
import { recordedReply, transcriptVersions } from '../testing/transcript.js';
import { queryCpuDefinitions, queryMachines, queryQmpSchema, queryVersion } from './introspection.js';
import { queryMigrateCapabilities } from './migration.js';

const harness = new FakeQmpHarness();
afterEach(() => harness.cleanup());

const recorded = {
  '7.2': { qemu: { major: 7, minor: 2, micro: 22 }, package: 'Debian 1:7.2+dfsg-7+deb12u18+b3' },
  '10.0': { qemu: { major: 10, minor: 0, micro: 2 }, package: 'Debian 1:10.0.2+ds-2+deb13u1~bpo12+1' },
} as const;

describe.each(transcriptVersions)(
  'introspection commands against the recorded QEMU %s session',
  (version) => {
    it('reads the version, machine types and CPU models', async () => {
      const { server, session, transcript } = await harness.replay('introspection', version);
      expect(await queryVersion(session)).toEqual(recorded[version]);
      const machines = await queryMachines(session);
      expect(machines).toEqual((recordedReply(transcript, 'query-machines') as { return: unknown }).return);
      // The aliases point at the version's own types: what a VM defined as `q35` or `pc` runs.
      expect(machines.find((machine) => machine.alias === 'q35')?.name).toBe(`pc-q35-${version}`);
      expect(machines.find((machine) => machine.alias === 'pc')?.name).toBe(`pc-i440fx-${version}`);
      const cpus = await queryCpuDefinitions(session);
      expect(cpus.find((cpu) => cpu.name === 'host')?.['unavailable-features']).toEqual(['kvm']);
      expect(cpus.find((cpu) => cpu.name === 'qemu64')).toMatchObject({
        'migration-safe': true,
        'alias-of': 'qemu64-v1',
      });
      server.assertDone();
    });

    it('reads the QMP schema and the migration capabilities', async () => {
      const { server, session } = await harness.replay('qmp-schema', version);
      const schema = await queryQmpSchema(session);
      const setParams = schema.find((e) => e.name === 'migrate-set-parameters');
      expect(setParams).toMatchObject({ 'meta-type': 'command' });
      // Types are named by build-specific numbers: follow arg-type, never compare names across binaries.
      const argType = schema.find(
        (e) => setParams?.['meta-type'] === 'command' && e.name === setParams['arg-type'],
      );
      expect(argType).toMatchObject({ 'meta-type': 'object' });
      const capabilities = await queryMigrateCapabilities(session);
      expect(capabilities.map((c) => c.capability)).toContain('postcopy-preempt');
      server.assertDone();
    });
  },
);
