// Dirty-rate wrappers replayed against the QEMU 7.2 and 10.0 `dirty-rate` transcript of a page-sampling
// measurement on a running guest.

import { afterEach, describe, expect, it } from 'vitest';
import { transcriptVersions } from '../testing/transcript.js';
import { FakeQmpHarness } from '../testing/fake-qmp-harness.js';
import { calcDirtyRate, queryDirtyRate, type DirtyRateInfo } from './dirty-rate.js';

const harness = new FakeQmpHarness();
afterEach(() => harness.cleanup());

describe.each(transcriptVersions)('dirty-rate commands against the recorded QEMU %s session', (version) => {
  it('measures the dirty rate, polling until measured', async () => {
    const { server, session, transcript } = await harness.replay('dirty-rate', version);
    expect((await queryDirtyRate(session)).status).toBe('unstarted');
    await calcDirtyRate(session, { 'calc-time': 1 });
    const polls =
      transcript.entries.filter((entry) => entry.message['execute'] === 'query-dirty-rate').length - 1;
    const seen: DirtyRateInfo[] = [];
    for (let poll = 0; poll < polls; poll++) seen.push(await queryDirtyRate(session));
    // Right after calc-dirty-rate QEMU may still say `unstarted` before `measuring`.
    expect(seen.every((info) => ['unstarted', 'measuring', 'measured'].includes(info.status))).toBe(true);
    const measured = seen.at(-1);
    expect(measured).toMatchObject({ status: 'measured', mode: 'page-sampling', 'calc-time': 1 });
    expect(measured?.['dirty-rate']).toBeGreaterThanOrEqual(0);
    server.assertDone();
  });
});
