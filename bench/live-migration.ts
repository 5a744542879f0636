// Benchmark: one live migration of the same test guest over the same 100 Mbit/s test-bed
// link, (a) the reference article's way (monitor `migrate` to a target started with
// `-incoming tcp:...`, QEMU's defaults, no TLS: live-raw.ts) and (b) vmhop (`vmhop migrate
// --live`, TLS, pause-before-switchover, commit record: live-vmhop.ts). For both: total time,
// the real pause (QEMU's STOP→RESUME events) and the reported one, the gap a client saw, bytes
// sent, the ratio to the lower bound (non-zero RAM / link rate), and the guest's integrity
// check on the target (a broken move reads as broken, not as a figure). The suite (suite.ts)
// runs the same peers, with `virsh migrate`, over more scenarios and rounds.
import * as testbed from '../src/testbed/testbed.js';
import { rowOf } from './integrity-row.js';
import { LINK, type LiveCase } from './figures.js';
import { rawLive } from './live-raw.js';
import { vmhopLive } from './live-vmhop.js';

const CASE: LiveCase = { name: 'live', memoryMiB: 256, memMiB: 32, memRateMiBs: 8, capMs: 600_000 };

export async function benchLiveMigration(): Promise<Record<string, unknown>> {
  await testbed.down();
  await testbed.up({ hosts: ['a', 'b'], shaping: { rate: LINK.rate } });
  try {
    const articleWay = await rowOf(() => rawLive(CASE));
    const vmhop = await rowOf(() => vmhopLive(CASE));
    return {
      link: LINK.rate,
      guest: { memoryMiB: CASE.memoryMiB, memMiB: CASE.memMiB, memRateMiBs: CASE.memRateMiBs },
      articleWay,
      vmhop,
    };
  } finally {
    await testbed.down();
  }
}
