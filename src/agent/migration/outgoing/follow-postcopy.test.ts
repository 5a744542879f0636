// The source's follow of a post-copy: a resumed stream that stays in postcopy-recover without
// ever moving (its listener went with a restarted target agent) is paused again after its bound
// and recovered once more, instead of waiting out the 30 min recovery window. The CI run of
// 2026-12-03 saw a post-copy recovery after a target agent kill hang past the test's 180 s.
import { afterEach, describe, expect, it } from 'vitest';
import { FakeQmpHarness } from '../../../qmp/testing/fake-qmp-harness.js';
import { VmhopError } from '../../../protocol/errors.js';
import type { PeerLink } from '../../peers/peer-link.js';
import { followPostcopy } from './follow-postcopy.js';

const h = new FakeQmpHarness();
afterEach(() => h.cleanup());

const status = (s: string, transferred = 1000) => ({
  execute: 'query-migrate',
  reply: { return: { status: s, ram: { transferred } } },
});

/** Follows a post-copy on the fake QMP `server` against `peer`, the journal kept in `journal`. */
async function follow(
  server: Awaited<ReturnType<FakeQmpHarness['server']>>,
  peer: PeerLink,
  journal: string[],
  bounds: { recoverStallMs?: number; intervalMs?: number } = {},
) {
  return followPostcopy(await h.connect(server), {
    peer,
    jobId: 'j1',
    protocolVersion: 3,
    address: '127.0.0.1',
    // A port below the probe answers ECONNREFUSED: the path to the "target" works.
    targetPorts: { first: 1025, count: 10 },
    stallTimeoutMs: 1_000,
    ...bounds,
    onSample: () => {},
    journal: (t) => journal.push(t),
  });
}

describe('followPostcopy', () => {
  it('pauses a recovery that does not start moving, then recovers on a new listener', async () => {
    const server = await h.server();
    const asked: string[] = [];
    const peer = {
      name: 'b',
      postcopy: async (_job: string, action: string) => {
        asked.push(action);
        return action === 'recover' ? { address: '127.0.0.1', port: 4444 } : {};
      },
    } as unknown as PeerLink;
    server.expect(
      status('postcopy-recover'),
      status('postcopy-recover'),
      status('postcopy-recover'),
      { execute: 'migrate-pause' },
      status('postcopy-paused'),
      { execute: 'migrate', arguments: (a: unknown) => (a as { resume?: boolean }).resume === true },
      status('postcopy-active', 2000),
      status('completed', 3000),
    );
    const journal: string[] = [];
    const r = await follow(server, peer, journal, { recoverStallMs: 300, intervalMs: 150 });
    expect(r.last.status).toBe('completed');
    expect(r.recoveries).toBe(1);
    expect(asked).toEqual(['pause', 'recover']);
    expect(journal.join('\n')).toMatch(
      /post-copy recovery did not start moving in 0 s: pausing to try again/,
    );
    expect(journal.join('\n')).toMatch(/post-copy resumed on 127\.0\.0\.1:4444/);
  });

  const ended = (state: string) =>
    ({
      name: 'b',
      postcopy: async () => {
        throw new VmhopError('VMHOP_ERR_JOB_ENDED', `incoming job \`j1\` already ended ${state}`, {
          job: 'j1',
          state,
          outcomeKnown: true,
        });
      },
    }) as unknown as PeerLink;
  const afterPause = async (peer: PeerLink, journal: string[]) => {
    const server = await h.server();
    server.expect(status('postcopy-paused'));
    return follow(server, peer, journal);
  };

  it('stops at once, for an operator, when the target says its job ended without every page', async () => {
    const journal: string[] = [];
    const at = Date.now();
    await expect(afterPause(ended('needs-operator'), journal)).rejects.toMatchObject({
      code: 'VMHOP_ERR_MIGRATION_OUTCOME_UNKNOWN',
      message: expect.stringMatching(/the target's job ended needs-operator while this end waits to resume/),
    });
    // Not the 30 min recovery window, nor a second attempt.
    expect(Date.now() - at).toBeLessThan(5_000);
    expect(journal.filter((t) => /recovery attempt failed/.test(t))).toHaveLength(1);
  });

  it('ends with the target when the target says its job completed (every page arrived)', async () => {
    const r = await afterPause(ended('completed'), []);
    expect(r.last.status).toBe('postcopy-paused');
    expect(r.recoveries).toBe(0);
  });
});
