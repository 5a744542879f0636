// The fake QMP server is strict: unexpected commands, wrong arguments and unused expectations
// all fail assertDone; negotiation can be scripted.

import { afterEach, describe, expect, it } from 'vitest';
import { FakeQmpHarness } from './fake-qmp-harness.js';

const harness = new FakeQmpHarness();
afterEach(() => harness.cleanup());

describe('FakeQmpServer', () => {
  it('fails assertDone when a command nobody expected arrives, and answers it with an error', async () => {
    const server = await harness.server();
    const session = await harness.connect(server);
    await expect(session.execute('query-status')).rejects.toMatchObject({
      code: 'QMP_COMMAND_FAILED',
      errorClass: 'CommandNotFound',
    });
    expect(() => server.assertDone()).toThrow(/unexpected command query-status/);
  });

  it('fails assertDone when an expected command never came', async () => {
    const server = await harness.server();
    server.expect({ execute: 'stop' });
    await harness.connect(server);
    expect(() => server.assertDone()).toThrow(/expected command never came: stop/);
  });

  it('fails assertDone when the arguments differ from the expected ones', async () => {
    const server = await harness.server();
    server.expect({ execute: 'migrate', arguments: { uri: 'unix:/a' } });
    const session = await harness.connect(server);
    await expect(session.execute('migrate', { uri: 'unix:/b' })).rejects.toMatchObject({
      code: 'QMP_COMMAND_FAILED',
    });
    expect(() => server.assertDone()).toThrow(/expected arguments/);
  });

  it('lets a test script the capabilities negotiation itself', async () => {
    const server = await harness.server({ negotiation: 'manual' });
    server.expect({ execute: 'qmp_capabilities', delayMs: 50 });
    const session = await harness.connect(server);
    expect(session.greeting.version.qemu.major).toBe(10); // the default greeting: the newest QEMU recorded
    server.assertDone();
  });

  it('passes assertDone when every expectation was met in order', async () => {
    const server = await harness.server();
    server.expect({ execute: 'stop' }, { execute: 'cont' });
    const session = await harness.connect(server);
    await session.execute('stop');
    await session.execute('cont');
    expect(() => server.assertDone()).not.toThrow();
  });
});
