// The source's RAM watcher finds the pre-switchover pause by QEMU's MIGRATION event, not by its
// sampling interval (issue 14): with an interval of ten minutes it must still return as soon as
// the event comes, after exactly one more query-migrate, and sample again at each new RAM pass
// (MIGRATION_PASS) for the progress. A watcher that polled would hang here.
import { afterEach, describe, expect, it } from 'vitest';
import { MigrationOptions } from '../../../protocol/migration.js';
import type { QmpWireEvent } from '../../../qmp/messages.js';
import { FakeQmpHarness } from '../../../qmp/testing/fake-qmp-harness.js';
import { pollUntil } from '../../poll-until.js';
import { watchUntilSwitchover } from './watch-migration.js';

const h = new FakeQmpHarness();
afterEach(() => h.cleanup());

const ram = { transferred: 1_000, remaining: 0, total: 64 << 20, 'dirty-sync-count': 1 };
const migrationEvent = (status: string): QmpWireEvent => ({
  event: 'MIGRATION',
  data: { status },
  timestamp: { seconds: Math.floor(Date.now() / 1000), microseconds: 0 },
});

describe('watchUntilSwitchover', () => {
  it('returns on the pre-switchover event, not at the next sample', async () => {
    const server = await h.server();
    server.expect(
      { execute: 'query-migrate', reply: { return: { status: 'active', ram } } },
      { execute: 'query-migrate', reply: { return: { status: 'pre-switchover', ram } } },
    );
    const qmp = await h.connect(server);
    const samples: string[] = [];
    const watching = watchUntilSwitchover(qmp, {
      signal: new AbortController().signal,
      options: MigrationOptions.parse({}),
      onSample: (info) => samples.push(info.status ?? ''),
      intervalMs: 600_000,
    });
    await server.waitForCommand('query-migrate');
    // QEMU stops the guest a while after the first sample; the watcher waits on the event now.
    await new Promise((r) => setTimeout(r, 200));
    server.sendEvent('MIGRATION', migrationEvent('pre-switchover').data);
    const pause = await watching;
    expect(samples).toEqual(['active', 'pre-switchover']);
    expect(pause.notes).toEqual([]);
    server.assertDone();
  });

  it('samples again at each MIGRATION_PASS, so a new pass shows when it begins', async () => {
    const server = await h.server();
    server.expect(
      { execute: 'query-migrate', reply: { return: { status: 'active', ram } } },
      {
        execute: 'query-migrate',
        reply: { return: { status: 'active', ram: { ...ram, 'dirty-sync-count': 2 } } },
      },
      { execute: 'query-migrate', reply: { return: { status: 'pre-switchover', ram } } },
    );
    const qmp = await h.connect(server);
    const passes: number[] = [];
    const watching = watchUntilSwitchover(qmp, {
      signal: new AbortController().signal,
      options: MigrationOptions.parse({}),
      onSample: (info) => passes.push(info.ram?.['dirty-sync-count'] ?? 0),
      intervalMs: 600_000,
    });
    await server.waitForCommand('query-migrate');
    await new Promise((r) => setTimeout(r, 200));
    server.sendEvent('MIGRATION_PASS', { pass: 2 });
    await pollUntil(async () => (passes.length >= 2 ? true : undefined), {
      intervalMs: 20,
      deadlineMs: 5_000,
    });
    server.sendEvent('MIGRATION', migrationEvent('pre-switchover').data);
    await watching;
    expect(passes).toEqual([1, 2, 1]);
    server.assertDone();
  });
});

/** query-migrate at the start of pass `pass`: the same 16 MiB left each time, 8 MiB/s dirtied. */
const stuckPass = (pass: number, transferredMiB: number) => ({
  execute: 'query-migrate',
  reply: {
    return: {
      status: 'active',
      ram: {
        ...ram,
        transferred: transferredMiB << 20,
        remaining: 16 << 20,
        'dirty-sync-count': pass,
        'dirty-pages-rate': 2048,
        'page-size': 4096,
      },
    },
  },
});

describe('watchUntilSwitchover under a policy', () => {
  const stuck = [stuckPass(1, 1), stuckPass(2, 200), stuckPass(3, 204), stuckPass(4, 208)];

  it('ends a pre-copy that does not converge under strict, naming the policy and the figures (F22)', async () => {
    const server = await h.server();
    server.expect(...stuck);
    const qmp = await h.connect(server);
    const watching = watchUntilSwitchover(qmp, {
      signal: new AbortController().signal,
      options: MigrationOptions.parse({ policy: 'strict' }),
      onSample: () => undefined,
      intervalMs: 1,
    });
    await expect(watching).rejects.toMatchObject({
      code: 'VMHOP_ERR_MIGRATION_FAILED',
      message: expect.stringMatching(/^policy strict ended the migration with the source running/),
      details: expect.objectContaining({ policy: 'strict', remainingBytes: 16 << 20, pass: 4 }),
    });
    server.assertDone();
  });

  it('switches a stuck pre-copy to post-copy under finish and says why', async () => {
    const server = await h.server();
    server.expect(
      ...stuck,
      { execute: 'migrate-start-postcopy', reply: { return: {} } },
      { execute: 'query-migrate', reply: { return: { status: 'pre-switchover', ram } } },
    );
    const qmp = await h.connect(server);
    const said: string[] = [];
    const pause = await watchUntilSwitchover(qmp, {
      signal: new AbortController().signal,
      options: MigrationOptions.parse({ policy: 'finish', postcopy: true }),
      onSample: () => undefined,
      onPolicy: (text) => said.push(text),
      intervalMs: 1,
    });
    expect(pause.postcopy?.reason).toMatch(
      /^policy finish: the RAM left to send did not shrink over 3 passes/,
    );
    expect(said).toEqual([expect.stringMatching(/^switching to post-copy \(policy finish\)/)]);
    server.assertDone();
  });

  it('leaves a stuck copy to its --timeout under manual', async () => {
    const server = await h.server();
    server.expect(...stuck, stuckPass(5, 212), {
      execute: 'query-migrate',
      reply: { return: { status: 'pre-switchover', ram } },
    });
    const qmp = await h.connect(server);
    const pause = await watchUntilSwitchover(qmp, {
      signal: new AbortController().signal,
      options: MigrationOptions.parse({ policy: 'manual', postcopy: true }),
      onSample: () => undefined,
      intervalMs: 1,
    });
    expect(pause.postcopy).toBeUndefined();
    server.assertDone();
  });
});

describe('watchUntilSwitchover with a prediction', () => {
  const neverConverges = {
    at: 0,
    measuredMs: 0,
    inputs: {} as never,
    lowerBoundS: 10,
    configured: 'postcopy-after-precopy' as const,
    notes: [],
    ways: [
      {
        way: 'precopy' as const,
        converges: false,
        totalS: null,
        bytes: 0,
        pauseMs: null,
        passes: 300,
        reason: 'never converges: the guest dirties 8.0 MiB/s',
      },
    ],
  };

  it('switches to post-copy after the first full pass when the prediction says pre-copy never finishes', async () => {
    const server = await h.server();
    server.expect(
      stuckPass(1, 1),
      stuckPass(2, 200),
      { execute: 'migrate-start-postcopy', reply: { return: {} } },
      { execute: 'query-migrate', reply: { return: { status: 'pre-switchover', ram } } },
    );
    const qmp = await h.connect(server);
    const pause = await watchUntilSwitchover(qmp, {
      signal: new AbortController().signal,
      options: MigrationOptions.parse({ policy: 'finish', postcopy: true }),
      prediction: neverConverges,
      onSample: () => undefined,
      intervalMs: 1,
    });
    expect(pause.postcopy?.reason).toBe(
      'policy finish: the prediction says pre-copy does not finish (never converges: the guest dirties 8.0 MiB/s), so post-copy after the first full RAM pass',
    );
    server.assertDone();
  });

  it("names the user's --postcopy-after-precopy as the reason, before the policy's prediction", async () => {
    const server = await h.server();
    server.expect(
      stuckPass(1, 1),
      stuckPass(2, 200),
      { execute: 'migrate-start-postcopy', reply: { return: {} } },
      { execute: 'query-migrate', reply: { return: { status: 'pre-switchover', ram } } },
    );
    const qmp = await h.connect(server);
    const pause = await watchUntilSwitchover(qmp, {
      signal: new AbortController().signal,
      options: MigrationOptions.parse({ policy: 'finish', postcopy: true, postcopyAfterPrecopy: true }),
      prediction: neverConverges,
      onSample: () => undefined,
      intervalMs: 1,
    });
    expect(pause.postcopy?.reason).toBe('the first full RAM pass is done (--postcopy-after-precopy)');
    server.assertDone();
  });
});
