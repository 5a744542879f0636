// The prediction's measurements on the installed QEMU (TCG) running the test guest: its dirty rate
// with the memory dirtier on (16 MiB/s over 64 MiB) and off, and the non-zero RAM sample against
// what the guest holds. Run under the e2e lock (a TCG guest fills a core):
//   flock /tmp/vmhop-e2e.lock npx vitest run src/agent/migration/predict/measure.qemu.test.ts
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { qemuAvailable } from '../../../qmp/testing/test-qemu.js';
import { TestQemuPool } from '../../../qmp/testing/test-qemu-pool.js';
import { GUEST_DIR } from '../../../repo/paths.js';
import { guestArtifacts, guestCmdline } from '../../../test-guest/spec.js';
import { pollUntil } from '../../poll-until.js';
import { measureDirtyRate } from './dirty-rate.js';
import { sampleNonZeroRam } from './non-zero-ram.js';

const MiB = 1024 * 1024;
const pool = new TestQemuPool();
const ready = existsSync(GUEST_DIR) && qemuAvailable();

/** Boots the test guest and waits until its console shows `settleTicks` heartbeats (100 ms each) after its ready line. */
async function bootGuest(memRateMiBs?: number, settleTicks = 0) {
  const { kernel, initrd } = guestArtifacts();
  const cmdline = guestCmdline({ ip: '10.77.0.250', ...(memRateMiBs ? { memMiB: 64, memRateMiBs } : {}) });
  const name = `guest-${memRateMiBs ?? 0}`;
  const q = pool.start({
    name,
    extraArgs: [
      '-m',
      '256',
      '-kernel',
      kernel,
      '-initrd',
      initrd,
      '-append',
      cmdline,
      '-serial',
      `file:${join(pool.dir, `${name}.log`)}`,
    ],
  });
  const session = await pollUntil(() => pool.connect(q).catch(() => undefined), {
    intervalMs: 100,
    deadlineMs: 5_000,
  });
  if (!session) throw new Error(`QMP of the test guest did not answer: ${q.stderr()}`);
  // The workload starts with the guest's service: wait for its ready line (bounded).
  const log = join(pool.dir, `${name}.log`);
  const ticksAfterReady = () => {
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    const at = text.indexOf('vmhop-guest ready');
    return at < 0 ? -1 : (text.slice(at).match(/^tick \d+/gm) ?? []).length;
  };
  const up = await pollUntil(() => (ticksAfterReady() >= settleTicks ? true : undefined), {
    intervalMs: 200,
    deadlineMs: 60_000 + settleTicks * 200,
  });
  if (!up)
    throw new Error(
      `the test guest did not boot: ${existsSync(log) ? readFileSync(log, 'utf8') : 'no console'}`,
    );
  return { session, runDir: pool.dir };
}

afterEach(async () => pool.stopAll());

describe.skipIf(!ready)('prediction measurements on real QEMU (TCG)', { timeout: 90_000 }, () => {
  it('measures about 16 MiB/s for the dirtier at 16 MiB/s, and a smaller rate over the long window once it saturates', async () => {
    const { session } = await bootGuest(16);
    const r = await measureDirtyRate(session, { shortS: 1, longS: 8 });
    expect(r.dirtyRateBps / MiB).toBeGreaterThan(8);
    expect(r.dirtyRateBps / MiB).toBeLessThan(32);
    // 8 s x 16 MiB/s is twice the 64 MiB it rewrites: the long window saturates near 64 MiB.
    expect(r.workingSetBytes).toBeDefined();
    expect(r.workingSetBytes! / MiB).toBeGreaterThan(32);
    expect(r.workingSetBytes! / MiB).toBeLessThan(128);
  });

  it('measures near zero for an idle guest, and finds most of its RAM zero', async () => {
    const { session, runDir } = await bootGuest();
    const r = await measureDirtyRate(session, { shortS: 1, longS: 2 });
    expect(r.dirtyRateBps / MiB).toBeLessThan(2);
    const s = await sampleNonZeroRam(session, { ramBytes: 256 * MiB, machine: 'q35', runDir });
    expect(s.sampledBytes).toBe(256 * 16 * 4096);
    // The idle guest holds its 63 MiB kernel image (PVH boot of vmlinux) and little else.
    expect(s.nonZeroBytes / MiB).toBeGreaterThan(40);
    expect(s.nonZeroBytes / MiB).toBeLessThan(100);
    expect(s.compressionRatio).toBeGreaterThan(0);
    expect(s.compressionRatio).toBeLessThanOrEqual(1);
    expect(readdirSync(runDir).filter((f) => f.startsWith('ram-sample'))).toEqual([]);
  });

  it("counts the dirtier's 64 MiB as non-zero RAM", async () => {
    const idle = await bootGuest();
    const base = await sampleNonZeroRam(idle.session, {
      ramBytes: 256 * MiB,
      machine: 'q35',
      runDir: idle.runDir,
    });
    await pool.stopAll();
    // 6 s at 16 MiB/s: the dirtier has written all of its 64 MiB once.
    const busy = await bootGuest(16, 60);
    const s = await sampleNonZeroRam(busy.session, {
      ramBytes: 256 * MiB,
      machine: 'q35',
      runDir: busy.runDir,
    });
    const more = (s.nonZeroBytes - base.nonZeroBytes) / MiB;
    expect(more).toBeGreaterThan(40);
    expect(more).toBeLessThan(90);
  });
});
