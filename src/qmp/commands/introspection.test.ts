// Introspection wrappers replayed against the QEMU 7.2 `introspection` transcript (trimmed lists of
// machine types and CPU models).

import { afterEach, describe, expect, it } from 'vitest';
import { FakeQmpHarness } from '../testing/fake-qmp-harness.js';
import { recordedReply } from '../testing/transcript.js';
import { queryCpuDefinitions, queryMachines, queryVersion } from './introspection.js';

const harness = new FakeQmpHarness();
afterEach(() => harness.cleanup());

describe('introspection commands against the recorded QEMU 7.2 session', () => {
  it('reads the version, machine types and CPU models', async () => {
    const { server, session, transcript } = await harness.replay('introspection');
    expect(await queryVersion(session)).toEqual({
      qemu: { major: 7, minor: 2, micro: 22 },
      package: 'Debian 1:7.2+dfsg-7+deb12u18+b3',
    });
    const machines = await queryMachines(session);
    expect(machines).toEqual((recordedReply(transcript, 'query-machines') as { return: unknown }).return);
    expect(machines.find((machine) => machine.alias === 'q35')?.name).toBe('pc-q35-7.2');
    const cpus = await queryCpuDefinitions(session);
    expect(cpus.find((cpu) => cpu.name === 'host')?.['unavailable-features']).toEqual(['kvm']);
    expect(cpus.find((cpu) => cpu.name === 'qemu64')).toMatchObject({
      'migration-safe': true,
      'alias-of': 'qemu64-v1',
    });
    server.assertDone();
  });
});
