// The guest-integrity check as the e2e files use it after a move: the guest at `ip`, VM `vm`,
// survived the move that left it on `host` (resumed there at `resumedAt`, or now); logs the summary.
import { expectGuestIntact, type GuestSnapshot } from '../../../src/testbed/integrity.js';

export async function expectIntactOn(
  guest: { ip: string; vm: string },
  host: string,
  before: GuestSnapshot,
  resumedAt?: number,
): Promise<void> {
  const r = await expectGuestIntact({
    ip: guest.ip,
    before,
    targetHost: host,
    vm: guest.vm,
    switchoverAt: resumedAt ?? Date.now(),
  });
  console.log(`guest intact on ${host}: ${r.summary}`);
}
