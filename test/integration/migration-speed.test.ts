// virsh's migrate-setspeed / migrate-setmaxdowntime / migrate-getspeed through the API, between
// two in-process agents over the fake QEMU: a migration capped at 1 MiB/s lasts long enough to
// change its speed; the source QEMU's parameters, the journal, getspeed and the report follow,
// and what cannot apply (the target side, bad values, a job that ended) is refused with the reason.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../src/agent/poll-until.js';
import { queryMigrate, queryMigrateParameters } from '../../src/qmp/index.js';
import { buildFakeQemu, type FakeQemu } from '../fake-qemu/build.js';
import { agentPair, migrateV1, startMigration } from './helpers/agent-pair.js';
import { DirectPeerLink } from './helpers/direct-peer-link.js';
import { FaultyPeerLink } from './helpers/faulty-peer-link.js';
import type { TestAgent } from './helpers/test-agent.js';

const MiB = 1024 * 1024;
let fake: FakeQemu;
const agents: TestAgent[] = [];
beforeAll(async () => {
  fake = await buildFakeQemu();
});
afterAll(async () => fake.remove());
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()));
});

describe('changing a running migration’s speed', () => {
  it('applies setspeed and setmaxdowntime to the source QEMU, journals them, and the report keeps them', async () => {
    const { a, b } = await agentPair(agents, { qemuBinary: fake.binary });
    const id = await startMigration(a, { bandwidthMiBs: 1 });
    const qmp = a.services.supervisor.qmpOf('v1')!;
    const copying = await pollUntil(
      async () => ((await queryMigrate(qmp)).status === 'active' ? true : undefined),
      { intervalMs: 20, deadlineMs: 10_000 },
    );
    expect(copying).toBe(true);

    // The incoming side cannot change the source's stream: it names the host to ask.
    const onTarget = await b.api('POST', '/v1/vms/v1/job/speed', { mibPerS: 2 });
    expect(onTarget.status, onTarget.text).toBe(409);
    expect(onTarget.body.error.message).toContain('`vmhop -c a migrate-setspeed v1`');

    for (const mibPerS of [-1, 1.5, 1_000_001, '2']) {
      const bad = await a.api('POST', '/v1/vms/v1/job/speed', { mibPerS });
      expect(bad.status, `${String(mibPerS)}: ${bad.text}`).toBe(400);
      expect(bad.body.error.code).toBe('VMHOP_ERR_USAGE');
    }
    expect((await a.api('POST', `/v1/jobs/${id}/max-downtime`, { ms: 0 })).status).toBe(400);

    const set = await a.api('POST', '/v1/vms/v1/job/speed', { mibPerS: 2 });
    expect(set.status, set.text).toBe(200);
    expect(set.body).toEqual({ job: id, vm: 'v1', bandwidthMiBs: 2, maxDowntimeMs: 300 });
    expect((await queryMigrateParameters(qmp))['max-bandwidth']).toBe(2 * MiB);

    const dt = await a.api('POST', `/v1/jobs/${id}/max-downtime`, { ms: 500 });
    expect(dt.status, dt.text).toBe(200);
    expect((await queryMigrateParameters(qmp))['downtime-limit']).toBe(500);

    const got = await a.api('GET', `/v1/jobs/${id}/speed`);
    expect(got.body).toEqual({ job: id, vm: 'v1', bandwidthMiBs: 2, maxDowntimeMs: 500 });

    // 0 lifts the cap, as vmhop's default: the rest of the 64 MiB guest goes at once.
    const lifted = await a.api('POST', `/v1/jobs/${id}/speed`, { mibPerS: 0 });
    expect(lifted.body).toMatchObject({ bandwidthMiBs: null });
    const job = await a.services.engine.wait(id);
    expect(job.state, JSON.stringify(job.report)).toBe('completed');
    expect(job.report?.options).toMatchObject({ maxDowntimeMs: 500 });
    expect(job.report?.options).not.toHaveProperty('bandwidthMiBs');

    const journal = (await a.api('GET', `/v1/jobs/${id}`)).body.journal.map(
      (j: { entry: string }) => j.entry,
    );
    expect(journal).toEqual(
      expect.arrayContaining([
        'bandwidth set to 2 MiB/s (was 1 MiB/s)',
        'max downtime set to 500 ms (was 300 ms)',
        'bandwidth set to no cap (was 2 MiB/s)',
      ]),
    );

    // Once it ended there is nothing to change.
    const ended = await b.api('GET', '/v1/vms/v1/job/speed');
    expect(ended.status, ended.text).toBe(404);
    expect(ended.body.error.code).toBe('VMHOP_ERR_JOB_NOT_FOUND');
    const byId = await a.api('POST', `/v1/jobs/${id}/speed`, { mibPerS: 5 });
    expect(byId.status, byId.text).toBe(409);
    expect(byId.body.error.message).toContain('is not running here (state completed)');
  });

  it('refuses a change before the RAM copy starts, when QEMU would still take the planned values', async () => {
    const source: { agent?: TestAgent } = {};
    let early: { status: number; body: { error: { message: string } } } | undefined;
    const pair = await agentPair(agents, {
      qemuBinary: fake.binary,
      link: (name, target) => {
        const link = new FaultyPeerLink(name, target);
        const ask = async () => {
          early = (await source.agent!.api('POST', '/v1/vms/v1/job/speed', { mibPerS: 5 })) as never;
        };
        link.rules = [{ call: 'prepare', fault: { kind: 'before', run: ask }, times: 1 }];
        return link;
      },
    });
    const a = pair.a;
    source.agent = a;
    const job = await migrateV1(a);
    expect(job.state).toBe('completed');
    expect(early?.status).toBe(409);
    expect(early?.body.error.message).toContain('has not started copying RAM yet');
    expect(job.report?.options).not.toHaveProperty('bandwidthMiBs');
  });

  it('moves the post-copy cap with the pre-copy one when the job may switch to post-copy', async () => {
    const { a } = await agentPair(agents, { qemuBinary: fake.binary });
    const id = await startMigration(a, { bandwidthMiBs: 1, postcopy: true });
    const qmp = a.services.supervisor.qmpOf('v1')!;
    await pollUntil(async () => ((await queryMigrate(qmp)).status === 'active' ? true : undefined), {
      intervalMs: 20,
      deadlineMs: 10_000,
    });
    expect((await a.api('POST', `/v1/jobs/${id}/speed`, { mibPerS: 3 })).status).toBe(200);
    expect(await queryMigrateParameters(qmp)).toMatchObject({
      'max-bandwidth': 3 * MiB,
      'max-postcopy-bandwidth': 3 * MiB,
    });
    expect((await a.api('POST', `/v1/jobs/${id}/speed`, { mibPerS: 0 })).status).toBe(200);
    expect((await a.services.engine.wait(id)).state).toBe('completed');
  });

  it('refuses an offline job: no QEMU migration carries its data', async () => {
    const asked: { status: number; body: { error: { message: string } } }[] = [];
    const source: { agent?: TestAgent } = {};
    // The target's offline prepare is the moment the job runs and streams next.
    class AskingLink extends DirectPeerLink {
      override async offlinePrepare(req: Parameters<DirectPeerLink['offlinePrepare']>[0]) {
        asked.push((await source.agent!.api('POST', '/v1/vms/v1/job/speed', { mibPerS: 5 })) as never);
        return super.offlinePrepare(req);
      }
    }
    const { a } = await agentPair(agents, {
      qemuBinary: fake.binary,
      link: (name, target) => new AskingLink(name, target),
    });
    source.agent = a;
    expect((await a.api('POST', '/v1/vms/v1/destroy')).status).toBe(200);
    const res = await a.api('POST', '/v1/migrations', { vm: 'v1', to: 'b', mode: 'offline' });
    expect(res.status, res.text).toBe(202);
    // The pair has no TLS material for the offline data listener, so the copy itself fails after
    // the prepare; the question was asked while the job ran, which is all this case needs.
    await a.services.engine.wait(res.body.job.id as string);
    expect(asked.map((r) => r.status)).toEqual([409]);
    expect(asked[0]?.body.error.message).toContain('is an offline migration');
  });
});
