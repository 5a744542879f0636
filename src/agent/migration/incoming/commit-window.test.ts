// The commit window over a real QMP session to the fake QMP server: measured from QEMU's own
// `completed` stamp, not from when the agent read it.
import { afterEach, describe, expect, it } from 'vitest';
import { FakeQmpHarness } from '../../../qmp/testing/fake-qmp-harness.js';
import { pollUntil } from '../../poll-until.js';
import { CommitWindows } from './commit-window.js';

const h = new FakeQmpHarness();
afterEach(() => h.cleanup());

/** A MIGRATION event as QEMU stamps it, `agoMs` before now. */
function migrationEvent(status: string, agoMs: number): string {
  const micros = (Date.now() - agoMs) * 1000;
  const timestamp = { seconds: Math.floor(micros / 1e6), microseconds: micros % 1e6 };
  return `${JSON.stringify({ event: 'MIGRATION', data: { status }, timestamp })}\n`;
}

async function watched(windowMs: number) {
  const server = await h.server();
  const qmp = await h.connect(server);
  const w = new CommitWindows();
  w.watch('j1', qmp, windowMs);
  return { server, w };
}

describe('CommitWindows', () => {
  it('a commit within the window from QEMU’s completed stamp is in time', async () => {
    const { server, w } = await watched(5_000);
    server.sendRaw(migrationEvent('active', 3_000) + migrationEvent('completed', 1_000));
    await pollUntil(async () => (w.lateBy('j1', Date.now() + 10_000) ? true : undefined), {
      intervalMs: 10,
      deadlineMs: 2_000,
    });
    expect(w.lateBy('j1')).toBeUndefined();
    w.close();
  });

  it('a commit taken after the window (an agent that read the event late) is late by the difference', async () => {
    const { server, w } = await watched(2_000);
    // The agent was frozen: QEMU completed 5 s ago, the agent reads it only now.
    server.sendRaw(migrationEvent('completed', 5_000));
    const late = await pollUntil(async () => w.lateBy('j1'), { intervalMs: 10, deadlineMs: 2_000 });
    expect(late?.windowMs).toBe(2_000);
    expect(late?.lateMs).toBeGreaterThanOrEqual(2_900);
    w.forget('j1');
    expect(w.lateBy('j1')).toBeUndefined();
  });

  it('without a completed event nothing is late (a QEMU without events is not refused every commit)', async () => {
    const { server, w } = await watched(1_000);
    server.sendRaw(migrationEvent('active', 10_000));
    await new Promise((r) => setTimeout(r, 100));
    expect(w.lateBy('j1', Date.now() + 60_000)).toBeUndefined();
    w.close();
  });
});
