// F8 below e2e: QEMU 10.0.2's monitor stops answering while an NBD request waits on a silent
// peer, and whichever query of the wait loop meets the hang must end the copy by the stall
// timeout, named as one (the clean-clone CI run once got "QMP query-blockstats timed out after
// 30000 ms" instead). A fake QMP server stands in for the source QEMU.
import { afterEach, describe, expect, it } from 'vitest';
import { MigrationOptions } from '../../../protocol/migration.js';
import { FakeQmpHarness } from '../../../qmp/testing/fake-qmp-harness.js';
import { mirrorJobs } from './mirror-jobs.js';
import { waitMirrorsReady } from './wait-mirrors-ready.js';

const h = new FakeQmpHarness();
afterEach(() => h.cleanup());

const notReady = {
  return: [
    {
      device: 'mirror-12345678-vda',
      type: 'mirror',
      len: 1 << 20,
      offset: 4096,
      busy: true,
      paused: false,
      ready: false,
      speed: 0,
      status: 'running',
      'io-status': 'ok',
    },
  ],
};

describe('waitMirrorsReady', () => {
  it.each(['query-block-jobs', 'query-blockstats'])(
    'ends by the stall timeout when %s gets no answer',
    async (silent) => {
      const server = await h.server();
      if (silent === 'query-blockstats') server.expect({ execute: 'query-block-jobs', reply: notReady });
      server.expect({ execute: silent, fault: { kind: 'no-reply' }, arguments: () => true });
      const m = mirrorJobs(await h.connect(server), '12345678-job', ['vda']);
      const t0 = Date.now();
      await expect(
        waitMirrorsReady(m, {
          signal: new AbortController().signal,
          options: MigrationOptions.parse({ stallTimeoutMs: 1_000 }),
          onProgress: () => {},
        }),
      ).rejects.toMatchObject({
        code: 'VMHOP_ERR_MIGRATION_FAILED',
        message: expect.stringMatching(
          new RegExp(`^QEMU did not answer for 1 s \\(stall timeout\\) during the disk copy: .*${silent}`),
        ),
      });
      expect(Date.now() - t0).toBeLessThan(10_000);
      m.close();
    },
  );
});
