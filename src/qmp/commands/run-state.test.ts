// Run-state wrappers replayed against the QEMU 7.2 and 10.0 `run-state` transcript, and quit's tolerance of
// QEMU closing the socket before its reply.

import { afterEach, describe, expect, it } from 'vitest';
import { transcriptVersions } from '../testing/transcript.js';
import { FakeQmpHarness } from '../testing/fake-qmp-harness.js';
import { cont, queryStatus, quit, stop, systemPowerdown, systemReset } from './run-state.js';

const harness = new FakeQmpHarness();
afterEach(() => harness.cleanup());

describe.each(transcriptVersions)('run-state commands against the recorded QEMU %s session', (version) => {
  it('pauses and resumes the vCPUs with their STOP and RESUME events, then quits', async () => {
    const { server, session } = await harness.replay('run-state', version);
    // QEMU 7.2 still sends the deprecated `singlestep`; 10.0 does not.
    expect(await queryStatus(session)).toEqual({
      status: 'prelaunch',
      running: false,
      ...(version === '7.2' ? { singlestep: false } : {}),
    });
    const resumed = session.waitEvent('RESUME', undefined, { timeoutMs: 1000 });
    await cont(session);
    await resumed;
    expect(await queryStatus(session)).toMatchObject({ status: 'running', running: true });
    const stopped = session.waitEvent('STOP', undefined, { timeoutMs: 1000 });
    await stop(session);
    await stopped;
    expect(await queryStatus(session)).toMatchObject({ status: 'paused', running: false });
    const reset = session.waitEvent('RESET', undefined, { timeoutMs: 1000 });
    await systemReset(session);
    expect((await reset).data).toEqual({ guest: false, reason: 'host-qmp-system-reset' });
    const powerdown = session.waitEvent('POWERDOWN', undefined, { timeoutMs: 1000 });
    await systemPowerdown(session);
    await powerdown;
    const shutdown = session.waitEvent('SHUTDOWN', undefined, { timeoutMs: 1000 });
    await quit(session);
    expect((await shutdown).data).toEqual({ guest: false, reason: 'host-qmp-quit' });
    server.assertDone();
  });

  it('quit succeeds when QEMU closes the socket before its reply', async () => {
    const server = await harness.server();
    server.expect({ execute: 'quit', fault: { kind: 'drop' } });
    const session = await harness.connect(server);
    await expect(quit(session)).resolves.toBeUndefined();
    server.assertDone();
  });

  it('quit still fails on a session closed locally: QEMU was never told', async () => {
    const server = await harness.server();
    const session = await harness.connect(server);
    await session.close();
    await expect(quit(session)).rejects.toMatchObject({ code: 'QMP_DISCONNECTED', command: 'quit' });
    server.assertDone();
  });
});
