import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { describePorts, listenInRange, probePortOf } from './ports.js';

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const server = () => {
  const s = net.createServer();
  servers.push(s);
  return s;
};

describe('listenInRange', () => {
  it('skips a taken port and listens on the next one of the range', async () => {
    const ports = { first: 47_530, count: 3 };
    await new Promise<void>((r) => server().listen(ports.first, '127.0.0.1', r));
    expect(await listenInRange(server(), '127.0.0.1', ports, 'the offline data listener')).toBe(
      ports.first + 1,
    );
  });

  it('refuses naming the listener, the range and the fix when every port is taken', async () => {
    const ports = { first: 47_540, count: 2 };
    for (const p of [47_540, 47_541]) await new Promise<void>((r) => server().listen(p, '127.0.0.1', r));
    await expect(
      listenInRange(server(), '127.0.0.1', ports, 'the offline data listener'),
    ).rejects.toMatchObject({
      code: 'VMHOP_ERR_MIGRATION_FAILED',
      message:
        "no free port for the offline data listener on 127.0.0.1 (47540-47541); free one of them, or widen the agent's migrationPorts",
      details: { address: '127.0.0.1', ports },
    });
  });

  it('refuses an address this host does not have, naming it and the setting to check', async () => {
    await expect(
      listenInRange(server(), '192.0.2.1', { first: 47_550, count: 2 }, 'an incoming migration'),
    ).rejects.toMatchObject({
      code: 'VMHOP_ERR_MIGRATION_FAILED',
      message: expect.stringMatching(
        /^cannot listen for an incoming migration on 192\.0\.2\.1:47550: .*; check the agent's migrationAddress$/,
      ),
      details: { address: '192.0.2.1', port: 47_550 },
    });
  });
});

it('names a range by its ends and probes the port below it', () => {
  expect(describePorts({ first: 49_300, count: 64 })).toBe('49300-49363');
  expect(probePortOf({ first: 49_300, count: 64 })).toBe(49_299);
});
