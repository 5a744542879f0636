// announce-self and pmemsave replayed against the QEMU 7.2 and 10.0 `guest-io` transcript.
// Both only return `{}`; the test checks the arguments QEMU accepted.

import { afterEach, describe, it } from 'vitest';
import { transcriptVersions } from '../testing/transcript.js';
import { FakeQmpHarness } from '../testing/fake-qmp-harness.js';
import { announceSelf, pmemsave } from './guest-io.js';

const harness = new FakeQmpHarness();
afterEach(() => harness.cleanup());

describe.each(transcriptVersions)('guest I/O commands against the recorded QEMU %s session', (version) => {
  it('announces the NICs and saves guest memory', async () => {
    const { server, session } = await harness.replay('guest-io', version);
    await announceSelf(session, { initial: 50, max: 550, rounds: 2, step: 50 });
    await pmemsave(session, { val: 0, size: 4096, filename: '/tmp/vmhop-qmp-record/memory.bin' });
    server.assertDone();
  });
});
