// The target of an offline copy takes a peer's messages as strictly as a client's request
// (issue 12, findings 2 and 3): a device is a block device of one of its block pools after
// realpath, a VM name is a VM name, announced sizes must fit, and a commit must cover the
// data its prepare announced. Over real HTTPS with the source's cluster certificate; after
// every test no file outside the agent's data and run folders was made or changed.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dataDispatcher, sendVolume } from '../../src/agent/migration/outgoing/send-volume.js';
import { TempStorage } from '../../src/agent/storage/testing/temp-storage.js';
import type { IssuedCert } from '../../src/credentials/ca.js';
import { PROTOCOL_VERSION } from '../../src/protocol/host.js';
import { MigrationOptions } from '../../src/protocol/migration.js';
import { clusterCerts, filesUnder, PeerClient, type PeerReply } from './helpers/peer-tls.js';
import { kernelVm } from './helpers/vm-specs.js';
import { TestAgent, TOKEN, type ApiReply } from './helpers/test-agent.js';
import { expectApiError } from './helpers/api-expect.js';

const MIB = 1024 * 1024;
let sandbox: string;
let certs: Record<string, IssuedCert>;
let agent: TestAgent;
let a: PeerClient;
let tmp: TempStorage;
let before: { sandbox: Record<string, string>; agentRoot: Record<string, string> };

beforeAll(async () => {
  sandbox = await mkdtemp(join(tmpdir(), 'vmhop-peer-offline-'));
  certs = await clusterCerts(join(sandbox, 'tls'), ['t', 'a']);
});
afterAll(async () => {
  await rm(sandbox, { recursive: true, force: true });
});

beforeEach(async () => {
  tmp = new TempStorage();
  await mkdir(join(sandbox, 'outside'), { recursive: true });
  await writeFile(join(sandbox, 'outside', 'victim'), 'precious, not a disk\n'.repeat(400));
  agent = await TestAgent.start({ name: 't', tls: certs.t });
  a = new PeerClient(await agent.listen(), certs.t!.ca, certs.a);
  before = await snapshot();
});
afterEach(async () => {
  try {
    expect(await snapshot()).toEqual(before);
  } finally {
    await a.close();
    await agent.close();
    await tmp.cleanup();
    await rm(join(sandbox, 'outside'), { recursive: true, force: true });
  }
});

/**
 * Everything outside the agent's data and run folders: the sandbox (victim and certificates;
 * `src` holds the test's own source files) and the agent's root.
 */
async function snapshot() {
  return {
    sandbox: await filesUnder(sandbox, ['src']),
    agentRoot: await filesUnder(agent.root, ['data', 'run']),
  };
}

/** Compared as digests: a deep equality of two 1 MiB buffers takes seconds. */
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const reply = (r: PeerReply): ApiReply => ({ status: r.status, body: r.body, text: r.text, headers: {} });

function offlinePrepare(items: object[], over: Record<string, unknown> = {}) {
  return {
    protocolVersion: PROTOCOL_VERSION,
    jobId: randomUUID(),
    source: 'a',
    vm: 'v1',
    volumeCopy: false,
    items,
    options: MigrationOptions.parse({}),
    ...over,
  };
}

const volumeItem = (over: Record<string, unknown> = {}) => ({
  key: 'src/d1.img',
  kind: 'volume',
  pool: 'default',
  name: 'd1.img',
  format: 'raw',
  sizeBytes: MIB,
  dataBytes: 64 * 1024,
  fingerprint: 'f1',
  ...over,
});

/** A 1 MiB source file holding 64 KiB of data at 128 KiB. */
async function sourceFile(): Promise<string> {
  await mkdir(join(sandbox, 'src'), { recursive: true });
  const path = join(sandbox, 'src', 'source.img');
  await writeFile(path, '');
  await truncate(path, MIB);
  const fh = await open(path, 'r+');
  await fh.write(Buffer.alloc(64 * 1024, 0x5a), 0, 64 * 1024, 128 * 1024);
  await fh.close();
  return path;
}

/** Sends `path` as `key` to the data listener of a prepare reply, as the source `a` would. */
async function send(prep: PeerReply, key: string, path: string) {
  const tls = { cert: certs.a!.cert, key: certs.a!.key, ca: certs.a!.ca };
  const d = dataDispatcher(tls, (p) => readFileSync(p));
  try {
    const { address, port, token } = prep.body as { address: string; port: number; token: string };
    return await sendVolume({ address, port, token, tls }, d, key, path, [], {
      signal: AbortSignal.timeout(10_000),
      onChunk: () => undefined,
    });
  } finally {
    await d.destroy();
  }
}

/** Prepare, and (only when the target took it) a commit with no data: what an attacker would try. */
async function prepareThenCommit(body: ReturnType<typeof offlinePrepare>) {
  const prep = await a.call('POST', '/v1/peer/offline', body);
  const commit =
    prep.status === 200
      ? await a.call('POST', `/v1/peer/offline/${body.jobId}/commit`, {
          protocolVersion: PROTOCOL_VERSION,
          jobId: body.jobId,
          manifests: body.items.map((i) => ({ key: (i as { key: string }).key, chunks: [] })),
        })
      : undefined;
  return { prep, commit };
}

/** A prepare of `d1.img`, the source file sent, then the commit with `spec` (or none): what a source does. */
async function copyAndCommit(spec?: object) {
  const body = offlinePrepare([volumeItem()]);
  const prep = await a.call('POST', '/v1/peer/offline', body);
  expect(prep.status, prep.text).toBe(200);
  const sent = await send(prep, 'src/d1.img', await sourceFile());
  const commit = await a.call('POST', `/v1/peer/offline/${body.jobId}/commit`, {
    protocolVersion: PROTOCOL_VERSION,
    jobId: body.jobId,
    ...(spec ? { spec } : {}),
    manifests: [{ key: 'src/d1.img', chunks: sent.manifest }],
  });
  const abort = () =>
    a.call('POST', `/v1/peer/migrations/${body.jobId}/abort`, { protocolVersion: PROTOCOL_VERSION });
  return { commit, abort };
}

describe('offline prepare: paths come only from validated names (finding 2)', () => {
  it('refuses a device that leaves /dev through `..` and writes nothing over the file it names', async () => {
    const victim = join(sandbox, 'outside', 'victim');
    const { prep, commit } = await prepareThenCommit(
      offlinePrepare([volumeItem({ dataBytes: 0, device: `/dev/..${victim}` })]),
    );
    expect(commit?.status).toBeUndefined();
    expectApiError(reply(prep), 400, 'VMHOP_ERR_USAGE');
  });

  it('refuses a device that is not a block device (/dev/null)', async () => {
    const { prep, commit } = await prepareThenCommit(
      offlinePrepare([volumeItem({ dataBytes: 0, device: '/dev/null' })]),
    );
    expect(commit?.status).toBeUndefined();
    expectApiError(reply(prep), 400, 'VMHOP_ERR_PATH_OUTSIDE_POOL', /not a block device/);
  });

  it('refuses a block device that no block pool of this host lists, and leaves it as it was', async () => {
    const loop = await tmp.loopDevice(MIB);
    const fh = await open(loop, 'r+');
    await fh.write(Buffer.alloc(4096, 0x11), 0, 4096, 0);
    await fh.close();
    const { prep, commit } = await prepareThenCommit(
      offlinePrepare([volumeItem({ dataBytes: 0, device: loop })]),
    );
    expect(commit?.status).toBeUndefined();
    expectApiError(reply(prep), 400, 'VMHOP_ERR_PATH_OUTSIDE_POOL', /in no block pool here/);
    expect(sha(readFileSync(loop).subarray(0, 4096))).toBe(sha(Buffer.alloc(4096, 0x11)));
  });

  it('writes a dump onto a block device of one of its block pools', async () => {
    const loop = await tmp.loopDevice(MIB);
    const pool = await agent.api('POST', '/v1/pools', { name: 'blk', kind: 'block', devices: [loop] });
    expect(pool.status, pool.text).toBe(201);
    const body = offlinePrepare([volumeItem({ device: loop })]);
    const prep = await a.call('POST', '/v1/peer/offline', body);
    expect(prep.status, prep.text).toBe(200);
    const sent = await send(prep, 'src/d1.img', await sourceFile());
    const commit = await a.call('POST', `/v1/peer/offline/${body.jobId}/commit`, {
      protocolVersion: PROTOCOL_VERSION,
      jobId: body.jobId,
      manifests: [{ key: 'src/d1.img', chunks: sent.manifest }],
    });
    expect(commit.status, commit.text).toBe(200);
    expect(sha(readFileSync(loop).subarray(128 * 1024, 192 * 1024))).toBe(sha(Buffer.alloc(64 * 1024, 0x5a)));
    expect(agent.defaultPoolFiles().filter((f) => !f.startsWith('.vmhop-pool'))).toEqual([]);
  });

  it('refuses a block device that a VM of this host uses as its disk, and leaves it as it was', async () => {
    const loop = await tmp.loopDevice(MIB);
    const fh = await open(loop, 'r+');
    await fh.write(Buffer.alloc(4096, 0x22), 0, 4096, 0);
    await fh.close();
    expect(
      (await agent.api('POST', '/v1/pools', { name: 'blk', kind: 'block', devices: [loop] })).status,
    ).toBe(201);
    const spec = kernelVm('owner', {
      disks: [{ target: 'vda', pool: 'blk', volume: basename(loop), format: 'raw' }],
    });
    const def = await agent.api('POST', '/v1/vms', { spec });
    expect(def.status, def.text).toBe(201);
    const { prep, commit } = await prepareThenCommit(
      offlinePrepare([volumeItem({ dataBytes: 0, device: loop })]),
    );
    expect(commit?.status).toBeUndefined();
    expectApiError(reply(prep), 409, 'VMHOP_ERR_VOLUME_IN_USE', /`owner`/);
    expect(sha(readFileSync(loop).subarray(0, 4096))).toBe(sha(Buffer.alloc(4096, 0x22)));
  });

  it('refuses a VM name that is a path (`../../x`) and makes no state file for it', async () => {
    const state = {
      key: 'state',
      kind: 'state',
      format: 'raw',
      sizeBytes: 4096,
      dataBytes: 4096,
      fingerprint: 's',
    };
    const { prep } = await prepareThenCommit(offlinePrepare([state], { vm: '../../x' }));
    expectApiError(reply(prep), 400, 'VMHOP_ERR_USAGE');
    expect(existsSync(join(agent.root, 'x.vmstate'))).toBe(false);
  });

  it('refuses a volume copy whose job name is not POOL/VOLUME', async () => {
    const { prep } = await prepareThenCommit(
      offlinePrepare([volumeItem()], { vm: '../x', volumeCopy: true }),
    );
    expectApiError(reply(prep), 400, 'VMHOP_ERR_USAGE');
  });

  it('refuses a live prepare whose copied disk is not a volume name', async () => {
    const res = await a.call('POST', '/v1/peer/migrations', {
      protocolVersion: PROTOCOL_VERSION,
      jobId: randomUUID(),
      mode: 'live-copy',
      source: 'a',
      spec: kernelVm('v2'),
      settings: { capabilities: [], parameters: {} },
      tls: true,
      options: MigrationOptions.parse({}),
      disks: [{ target: 'vda', pool: 'default', volume: '../../x', format: 'raw', sizeBytes: MIB }],
    });
    expectApiError(reply(res), 400, 'VMHOP_ERR_USAGE');
    expect(await agent.vmNames()).toEqual([]);
  });
});

describe('messages that reach the target through another link than the routes', () => {
  it('are checked again by the services: no path is built from an unchecked name', async () => {
    const state = {
      key: 'state',
      kind: 'state',
      format: 'raw',
      sizeBytes: 4096,
      dataBytes: 4096,
      fingerprint: 's',
    };
    const offline = offlinePrepare([state], { vm: '../../x' });
    await expect(agent.services.engine.target.offline.prepare(offline as never)).rejects.toMatchObject({
      code: 'VMHOP_ERR_USAGE',
    });
    await expect(
      agent.services.engine.target.prepare({
        protocolVersion: PROTOCOL_VERSION,
        jobId: randomUUID(),
        mode: 'live-shared',
        source: '../a',
        spec: kernelVm('v3'),
        settings: { capabilities: [], parameters: {} },
        tls: false,
        options: MigrationOptions.parse({}),
      } as never),
    ).rejects.toMatchObject({ code: 'VMHOP_ERR_USAGE' });
    expect(existsSync(join(agent.root, 'x.vmstate'))).toBe(false);
    expect(await agent.vmNames()).toEqual([]);
  });
});

describe('offline commit: only with the data announced (finding 3)', () => {
  it('refuses a commit whose manifest holds none of the announced data, and puts nothing in place', async () => {
    const { prep, commit } = await prepareThenCommit(offlinePrepare([volumeItem()]));
    expect(prep.status, prep.text).toBe(200);
    expectApiError(reply(commit!), 400, 'VMHOP_ERR_USAGE', /does not cover what its prepare announced/);
    expect(agent.defaultPoolFiles().filter((f) => !f.startsWith('.vmhop'))).toEqual([]);
  });

  it('refuses announced files larger than the pool has room for (2^40 bytes, no data) before making any', async () => {
    const files = agent.defaultPoolFiles();
    const { prep } = await prepareThenCommit(
      offlinePrepare([volumeItem({ sizeBytes: 2 ** 40, dataBytes: 0 })]),
    );
    expectApiError(reply(prep), 409, 'VMHOP_ERR_VOLUME_NO_SPACE', /announces files of 1099511627776 bytes/);
    expect(agent.defaultPoolFiles()).toEqual(files);
  });

  it('refuses a VM state announced larger than the data folder has room for', async () => {
    const state = {
      key: 'state',
      kind: 'state',
      format: 'raw',
      sizeBytes: 2 ** 40,
      dataBytes: 0,
      fingerprint: 's',
    };
    const { prep } = await prepareThenCommit(offlinePrepare([state]));
    expectApiError(reply(prep), 409, 'VMHOP_ERR_VOLUME_NO_SPACE', /VM save folder/);
    expect(existsSync(join(agent.dataDir, 'save'))).toBe(false);
  });

  it('refuses an item announcing more data than its length', async () => {
    const { prep } = await prepareThenCommit(
      offlinePrepare([volumeItem({ sizeBytes: 4096, dataBytes: 8192 })]),
    );
    expectApiError(reply(prep), 400, 'VMHOP_ERR_USAGE');
  });

  it('puts a copy in place when its manifest covers the announced data', async () => {
    const body = offlinePrepare([volumeItem()]);
    const prep = await a.call('POST', '/v1/peer/offline', body);
    expect(prep.status, prep.text).toBe(200);
    // The data listener is inside the agent's migrationPorts (default 49152-49251), which the firewall opens.
    expect(prep.body.port).toBeGreaterThanOrEqual(49_152);
    expect(prep.body.port).toBeLessThanOrEqual(49_251);
    const source = await sourceFile();
    const sent = await send(prep, 'src/d1.img', source);
    const commit = await a.call('POST', `/v1/peer/offline/${body.jobId}/commit`, {
      protocolVersion: PROTOCOL_VERSION,
      jobId: body.jobId,
      manifests: [{ key: 'src/d1.img', chunks: sent.manifest }],
    });
    expect(commit.status, commit.text).toBe(200);
    expect(sha(readFileSync(join(agent.defaultPoolDir, 'd1.img')))).toBe(sha(readFileSync(source)));
  });
});

describe('the definition a peer brings uses only what its job brings', () => {
  /** A VM of this host whose disk `victim.qcow2` another job must not take over. */
  async function victimVm() {
    await agent.createVolume('victim.qcow2');
    const res = await agent.api('POST', '/v1/vms', {
      spec: kernelVm('owner', { disks: [{ target: 'vda', pool: 'default', volume: 'victim.qcow2' }] }),
    });
    expect(res.status, res.text).toBe(201);
  }

  it('refuses an offline commit defining the VM over a volume the job did not copy, and defines nothing', async () => {
    await victimVm();
    const { commit, abort } = await copyAndCommit(
      kernelVm('v1', {
        disks: [
          { target: 'vda', pool: 'default', volume: 'd1.img', format: 'raw' },
          { target: 'vdb', pool: 'default', volume: 'victim.qcow2' },
        ],
      }),
    );
    expectApiError(
      reply(commit),
      400,
      'VMHOP_ERR_USAGE',
      /disk vdb `default\/victim.qcow2`, which this job does not copy/,
    );
    expect(await agent.vmNames()).toEqual(['owner']);
    expect(agent.defaultPoolFiles().filter((f) => !f.startsWith('.vmhop'))).toEqual(['victim.qcow2']);
    await abort();
  });

  it('refuses an offline commit whose definition boots from a file outside the boot directories', async () => {
    const { commit, abort } = await copyAndCommit(
      kernelVm('v1', {
        boot: { kind: 'kernel', kernel: '/etc/shadow' },
        disks: [{ target: 'vda', pool: 'default', volume: 'd1.img', format: 'raw' }],
      }),
    );
    expectApiError(reply(commit), 403, 'VMHOP_ERR_PATH_NOT_ALLOWED', /\/etc\/shadow/);
    expect(await agent.vmNames()).toEqual([]);
    await abort();
  });

  it('refuses a live prepare over a volume of a dir pool it does not create, and starts nothing', async () => {
    await victimVm();
    const res = await a.call('POST', '/v1/peer/migrations', {
      protocolVersion: PROTOCOL_VERSION,
      jobId: randomUUID(),
      mode: 'live-shared',
      source: 'a',
      spec: kernelVm('v2', { disks: [{ target: 'vda', pool: 'default', volume: 'victim.qcow2' }] }),
      settings: { capabilities: [], parameters: {} },
      tls: true,
      options: MigrationOptions.parse({}),
    });
    expectApiError(reply(res), 400, 'VMHOP_ERR_USAGE', /which this job does not copy/);
    expect(await agent.vmNames()).toEqual(['owner']);
    expect(agent.services.jobStore.list(10)).toEqual([]);
  });
});

describe('offline commit: the manifest of a large copy', () => {
  it('takes a manifest over the API-wide 4 MiB (50,000 chunks) and checks it against what arrived', async () => {
    const n = 50_000;
    const body = offlinePrepare([volumeItem({ sizeBytes: 2 * n, dataBytes: n })]);
    const prep = await a.call('POST', '/v1/peer/offline', body);
    expect(prep.status, prep.text).toBe(200);
    const chunks = Array.from({ length: n }, (_, i) => ({
      offset: 2 * i,
      length: 1,
      sha256: 'ab'.repeat(32),
    }));
    const commit = await a.call('POST', `/v1/peer/offline/${body.jobId}/commit`, {
      protocolVersion: PROTOCOL_VERSION,
      jobId: body.jobId,
      manifests: [{ key: 'src/d1.img', chunks }],
    });
    expect(JSON.stringify(chunks).length).toBeGreaterThan(4 * MIB);
    // Not 413: read, then refused because none of those chunks arrived.
    expectApiError(reply(commit), 409, 'VMHOP_ERR_COPY_INCOMPLETE', /lacks the chunk at 0 \(1 bytes\)/);
    expect(agent.defaultPoolFiles().filter((f) => !f.startsWith('.vmhop'))).toEqual([]);
    await a.call('POST', `/v1/peer/migrations/${body.jobId}/abort`, { protocolVersion: PROTOCOL_VERSION });
  });

  it('refuses a client token on the commit route before reading its body', async () => {
    const res = await agent.app.inject({
      method: 'POST',
      url: `/v1/peer/offline/${randomUUID()}/commit`,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      payload: 'x'.repeat(8 * MIB),
    });
    expect(res.statusCode, res.body).toBe(403);
  });
});
