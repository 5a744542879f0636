// zlib-compressed multifd is allowed again where both hosts run QEMU 10 or newer (it was refused
// outright after QEMU 7.2 corrupted guests with it). This moves the test guest, writing memory
// throughout, with --parallel 2 --compressed zlib to b and back over the 100 Mbit/s link (where
// QEMU 7.2 lost the writes of such a guest) on the test bed's QEMU, and checks the guest after each
// move (same boot id, no panic on its console, mem-verify clean).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostInfo } from '../../src/protocol/host.js';
import type { JobInfo } from '../../src/protocol/migration.js';
import { waitForGuest } from '../../src/testbed/client.js';
import * as testbed from '../../src/testbed/testbed.js';
import { expectGuestIntact, snapshotGuest } from '../../src/testbed/integrity.js';
import { removeVmEverywhere, vmhop, vmhopOk, vmStates } from './helpers/cli.js';

const VM = 'zlib1';
const IP = '10.77.0.41';

beforeAll(async () => {
  const vm = await vmhopOk<{ state: string }>([
    '-c',
    'a',
    'create',
    VM,
    '--test-guest',
    '--start',
    '--ip',
    IP,
    '--memory',
    '192',
    '--mem-dirty',
    '32',
  ]);
  expect(vm.state).toBe('running');
  expect((await waitForGuest(IP, 60_000)).ok).toBe(true);
  await testbed.shape({ rate: '100mbit' });
});

afterAll(async () => {
  await testbed.shape({});
  await removeVmEverywhere(VM);
});

async function moveWithZlib(from: string, to: string) {
  const before = await snapshotGuest(IP);
  const r = await vmhop<JobInfo>(
    ['-c', from, 'migrate', VM, '--to', to, '--live', '--parallel', '2', '--compressed', 'zlib'],
    300_000,
  );
  expect(r.json.state, JSON.stringify(r.json)).toBe('completed');
  expect(r.json.report?.options).toMatchObject({ parallel: 2, compressed: 'zlib' });
  const intact = await expectGuestIntact({
    ip: IP,
    before,
    targetHost: to,
    vm: VM,
    switchoverAt: r.json.report?.resumedAt ?? Date.now(),
  });
  console.log(`zlib ${from} -> ${to}: ${r.json.report?.totalMs} ms, guest ${intact.summary}`);
  expect((await vmStates(VM))[to]).toBe('running');
}

describe('zlib-compressed multifd between two QEMU 10 hosts', () => {
  it('moves a guest that writes memory to b and back, and the guest survives both moves', async () => {
    const [a, b] = await Promise.all([
      vmhopOk<HostInfo>(['-c', 'a', 'host', 'info']),
      vmhopOk<HostInfo>(['-c', 'b', 'host', 'info']),
    ]);
    const major = (h: HostInfo) => Number(h.qemuVersion.split('.')[0]);
    expect(Math.min(major(a), major(b))).toBeGreaterThanOrEqual(10);
    await moveWithZlib('a', 'b');
    await moveWithZlib('b', 'a');
  }, 600_000);
});
