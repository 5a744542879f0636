// The reported pause runs from the source QEMU's STOP to the target QEMU's RESUME as QEMU stamped
// them, not to when the target agent read cont's reply: here the fake QEMU answers cont 600 ms
// after its RESUME (as a busy post-copy target did, which made reports say 1035 ms for a 309 ms
// pause). The two fakes share this machine's clock, so QEMU's stamps compare directly.
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { timestampMs, type QmpTimestamp } from '../../src/qmp/index.js';
import { buildFakeQemu, type FakeQemu } from '../fake-qemu/build.js';
import { agentPair, startMigration } from './helpers/agent-pair.js';
import type { TestAgent } from './helpers/test-agent.js';
import { testGuest } from './helpers/vm-specs.js';

const LATE_MS = 600;
const agents: TestAgent[] = [];
let fake: FakeQemu;

beforeAll(async () => {
  fake = await buildFakeQemu();
  process.env['VMHOP_FAKE_QEMU_CONT_REPLY_DELAY_MS'] = String(LATE_MS); // this file's worker only
});
afterAll(async () => {
  delete process.env['VMHOP_FAKE_QEMU_CONT_REPLY_DELAY_MS'];
  await fake?.remove();
});
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()));
});

describe.skipIf(!testGuest())('the reported pause', () => {
  it("ends at the target QEMU's RESUME stamp, not at cont's late reply", async () => {
    const { a, b } = await agentPair(agents, { qemuBinary: fake.binary });
    const ms = (e: { timestamp: QmpTimestamp }) => timestampMs(e.timestamp);
    const stopped = a.services.supervisor.qmpOf('v1')!.waitEvent('STOP', undefined, { timeoutMs: 60_000 });
    const id = await startMigration(a);
    // The target's QEMU exists once the prepare ran; its RESUME is the resume on the target.
    let resumed: Promise<{ timestamp: QmpTimestamp }> | undefined;
    const until = Date.now() + 30_000;
    while (!resumed && Date.now() < until) {
      const qmp = b.services.supervisor.qmpOf('v1');
      if (qmp) resumed = qmp.waitEvent('RESUME', undefined, { timeoutMs: 60_000 });
      else await new Promise((r) => setTimeout(r, 20));
    }
    const job = await a.services.engine.wait(id);
    expect(job.state, JSON.stringify(job.report?.error)).toBe('completed');
    const real = ms(await resumed!) - ms(await stopped);
    const reported = job.report!.downtimeMs!;
    console.log(
      `pause: QEMU's STOP to RESUME ${real} ms, reported ${reported} ms (cont answered ${LATE_MS} ms late)`,
    );
    expect(Math.abs(reported - real)).toBeLessThan(LATE_MS / 2);
  });
});
