// The test guest on a test-bed host, driven through the QMP client and reached from the
// client namespace: it boots, answers, ticks, and its memory and disk verifiers pass.
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QmpSession, queryStatus, stop, cont } from '../../src/qmp/index.js';
import * as testbed from '../../src/testbed/testbed.js';
import { launchGuest, stopGuest, type LaunchedGuest } from '../../src/testbed/guest.js';
import { guestCommand, measureGaps, waitForGuest } from '../../src/testbed/client.js';
import { isAlive } from '../../src/agent/process/signals.js';

let guest: LaunchedGuest | undefined;
let qmp: QmpSession | undefined;
const ticks = async (g: LaunchedGuest) =>
  [...(await readFile(g.serialLog, 'utf8')).matchAll(/^tick (\d+)$/gm)].map((m) => Number(m[1]));

beforeAll(async () => {
  const a = await testbed.hostOf('a');
  const disk = `${a.backingData}/guest-e2e.qcow2`;
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '64M']);
  guest = await launchGuest(a, {
    name: 'e2e-guest',
    memoryMiB: 256,
    workload: { ip: '10.77.0.5', disk: '/dev/vda' },
    disk: { path: '/var/lib/vmhop/guest-e2e.qcow2', format: 'qcow2' },
  });
  qmp = await QmpSession.connect(guest.qmpSocket, { timeoutMs: 10_000 });
});

afterAll(async () => {
  await qmp?.close();
  if (guest) await stopGuest(guest);
});

describe('test guest on host a', () => {
  it('runs under QEMU, as QMP reports', async () => {
    expect((await queryStatus(qmp!)).status).toBe('running');
    expect(qmp!.greeting.version.qemu.major).toBeGreaterThanOrEqual(7);
  });

  it('answers its service from the client namespace', async () => {
    const w = await waitForGuest(guest!.ip, 60_000);
    expect(w.ok).toBe(true);
    expect(await guestCommand(guest!.ip, 'ping')).toMatchObject({ ok: true });
  });

  it('prints a strictly increasing heartbeat on the serial console', async () => {
    const before = await ticks(guest!);
    await measureGaps(guest!.ip, 1_000, 100);
    const after = await ticks(guest!);
    expect(after.length).toBeGreaterThan(before.length);
    for (let i = 1; i < after.length; i++) expect(after[i]).toBe((after[i - 1] as number) + 1);
  });

  it('holds its heartbeat while QMP stop pauses the vCPUs, and continues after cont', async () => {
    await stop(qmp!);
    expect((await queryStatus(qmp!)).status).toBe('paused');
    const paused = await ticks(guest!);
    await new Promise((r) => setTimeout(r, 500));
    expect(await ticks(guest!)).toEqual(paused);
    await cont(qmp!);
    const gaps = await measureGaps(guest!.ip, 1_000, 50);
    expect(gaps.ok).toBeGreaterThan(0);
    expect(gaps.tickWentBackwards).toBe(false);
  });

  it('verifies its memory after dirtying it', async () => {
    expect(await guestCommand(guest!.ip, 'mem-start 32 16')).toMatchObject({ ok: true, mib: 32 });
    await measureGaps(guest!.ip, 2_000, 200);
    expect(await guestCommand(guest!.ip, 'mem-stop')).toMatchObject({ ok: true });
    expect(await guestCommand(guest!.ip, 'mem-verify')).toMatchObject({ ok: true, bad: 0 });
  });

  it('verifies every acknowledged disk block after writing', async () => {
    expect(await guestCommand(guest!.ip, 'disk-start /dev/vda 256')).toMatchObject({ ok: true });
    await measureGaps(guest!.ip, 2_000, 200);
    await guestCommand(guest!.ip, 'disk-stop');
    const status = (await guestCommand(guest!.ip, 'status')) as { disk: { ack: number } };
    expect(status.disk.ack).toBeGreaterThan(0);
    expect(await guestCommand(guest!.ip, 'disk-verify')).toMatchObject({ ok: true });
  });

  it('is gone after stopGuest, tap and all', async () => {
    const g = guest!;
    await qmp!.close();
    await stopGuest(g);
    guest = undefined;
    expect(isAlive(g.pid)).toBe(false);
    const a = await testbed.hostOf('a');
    const { runOnHost } = await import('../../src/testbed/host-exec.js');
    expect((await runOnHost(a, ['ip', 'link', 'show', g.tap], { allowFail: true })).exitCode).not.toBe(0);
  });
});
