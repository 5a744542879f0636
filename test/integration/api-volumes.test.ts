// /v1/pools/:pool/volumes through inject() (virsh vol-create-as, vol-list, vol-info,
// vol-delete): thin qcow2 creation, and every refusal with its code, a message naming the
// value, and no file left in the pool directory.
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/agent/storage/format-bytes.js';
import { VolumeInfo } from '../../src/protocol/storage.js';
import { expectApiError, literally, quoted } from './helpers/api-expect.js';
import { TestAgent } from './helpers/test-agent.js';
import { kernelVm } from './helpers/vm-specs.js';

const GiB = 1024 ** 3;

let agent: TestAgent;
beforeEach(async () => {
  agent = await TestAgent.start();
});
afterEach(async () => {
  await agent.close();
});

const create = (body: unknown) => agent.api('POST', '/v1/pools/default/volumes', body);

describe('POST /v1/pools/:pool/volumes', () => {
  it('creates a thin qcow2 volume (201) whose allocation is a tiny part of its size', async () => {
    const res = await create({ name: 'd0.qcow2', sizeBytes: 10 * GiB });
    expect(res.status).toBe(201);
    const vol = VolumeInfo.strict().parse(res.body);
    expect(vol).toMatchObject({
      pool: 'default',
      name: 'd0.qcow2',
      format: 'qcow2',
      virtualSizeBytes: 10 * GiB,
      backingChain: [],
    });
    expect(vol.path).toBe(`${agent.defaultPoolDir}/d0.qcow2`);
    expect(vol.allocatedBytes).toBeGreaterThan(0);
    expect(vol.allocatedBytes).toBeLessThan(vol.virtualSizeBytes / 1000);
    expect(agent.defaultPoolFiles()).toEqual(['d0.qcow2']);
    const list = await agent.api('GET', '/v1/pools/default/volumes');
    expect(list.body).toEqual({ volumes: [res.body], problems: [] });
    expect((await agent.api('GET', '/v1/pools/default/volumes/d0.qcow2')).body).toEqual(res.body);
    expect((await agent.api('GET', '/v1/pools/default')).body.volumeCount).toBe(1);
  });

  it('creates a qcow2 overlay on a volume of the same pool, taking its size', async () => {
    const base = await agent.createVolume('base.qcow2', 2 * GiB);
    const res = await create({ name: 'top.qcow2', backingVolume: 'base.qcow2' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      virtualSizeBytes: 2 * GiB,
      backingChain: [{ path: base.path, format: 'qcow2' }],
    });
  });

  it('refuses a volume that exists with 409 VMHOP_ERR_VOLUME_EXISTS and leaves it as it was', async () => {
    const first = await agent.createVolume('d0.qcow2', GiB);
    const res = await create({ name: 'd0.qcow2', sizeBytes: 2 * GiB });
    expectApiError(res, 409, 'VMHOP_ERR_VOLUME_EXISTS', quoted('d0.qcow2'), quoted('default'));
    expect((await agent.api('GET', '/v1/pools/default/volumes/d0.qcow2')).body).toEqual(first);
  });

  it("refuses a volume bigger than the pool's free space with 409 VMHOP_ERR_VOLUME_NO_SPACE naming both sizes", async () => {
    const res = await create({ name: 'huge.qcow2', sizeBytes: 2 ** 50 });
    const err = expectApiError(
      res,
      409,
      'VMHOP_ERR_VOLUME_NO_SPACE',
      quoted('huge.qcow2'),
      quoted('default'),
      /\(1\.0 PiB\)/,
    );
    expect(err.message).toMatch(literally(`(${formatBytes(err.details.freeBytes as number)} free)`));
    expect(err.details).toMatchObject({ needBytes: 2 ** 50 });
    expect(agent.defaultPoolFiles()).toEqual([]);
  });

  it('removes the reserved file when qemu-img refuses the size (500 VMHOP_ERR_COMMAND_FAILED with its reason)', async () => {
    const res = await create({ name: 'huge.qcow2', sizeBytes: 2 ** 53, allowOvercommit: true });
    expectApiError(res, 500, 'VMHOP_ERR_COMMAND_FAILED', /qemu-img create/, /too large/);
    expect(agent.defaultPoolFiles()).toEqual([]);
  });

  it('refuses a volume without a size or backing volume with 400 VMHOP_ERR_USAGE naming it', async () => {
    expectApiError(
      await create({ name: 'd0.qcow2' }),
      400,
      'VMHOP_ERR_USAGE',
      quoted('d0.qcow2'),
      /needs a size/,
    );
    expect(agent.defaultPoolFiles()).toEqual([]);
  });

  it('refuses a size of the wrong type with 400 VMHOP_ERR_USAGE naming the field', async () => {
    expectApiError(
      await create({ name: 'd0.qcow2', sizeBytes: '1G' }),
      400,
      'VMHOP_ERR_USAGE',
      /sizeBytes: Expected number/,
    );
    expect(agent.defaultPoolFiles()).toEqual([]);
  });

  it('refuses a volume in an unknown pool with 404 VMHOP_ERR_POOL_NOT_FOUND', async () => {
    const res = await agent.api('POST', '/v1/pools/fast/volumes', { name: 'd0.qcow2', sizeBytes: GiB });
    expectApiError(res, 404, 'VMHOP_ERR_POOL_NOT_FOUND', quoted('fast'), /pools here: `default`/);
  });

  it.each(['../x', 'a/b', '.hidden'])(
    'refuses the name %s with 400 and creates no file anywhere',
    async (name) => {
      const res = await create({ name, sizeBytes: GiB });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toMatch(/^VMHOP_ERR_(USAGE|VOLUME_NAME_INVALID)$/);
      expect(res.body.error.message).toMatch(/name/);
      expect(agent.defaultPoolFiles()).toEqual([]);
      expect((await agent.api('GET', '/v1/pools/default/volumes')).body.volumes).toEqual([]);
    },
  );

  it.each(['../x', 'a/b', '.hidden'])(
    'refuses the name %s with 400 VMHOP_ERR_VOLUME_NAME_INVALID naming it',
    async (name) => {
      expectApiError(
        await create({ name, sizeBytes: GiB }),
        400,
        'VMHOP_ERR_VOLUME_NAME_INVALID',
        quoted(name),
      );
    },
  );
});

describe('volume names in the URL', () => {
  // The router decodes %2F inside one segment, so these reach the storage name check.
  it.each([
    ['a%2Fb', 'a/b', /contains `\/`/],
    ['..%2Fx', '../x', /contains `\/`/],
    ['.hidden', '.hidden', /starts with a dot/],
    ['x..y', 'x..y', /contains `\.\.`/],
    // A newline is shown escaped, so it cannot forge a line in a log or terminal.
    ['a%0Ab', 'a\\nb', /contains a control character/],
  ])(
    'GET and DELETE of %s answer 400 VMHOP_ERR_VOLUME_NAME_INVALID naming it',
    async (segment, name, why) => {
      for (const method of ['GET', 'DELETE'] as const) {
        const res = await agent.api(method, `/v1/pools/default/volumes/${segment}`);
        expectApiError(res, 400, 'VMHOP_ERR_VOLUME_NAME_INVALID', quoted(name), why);
      }
    },
  );

  it('answers an unencoded ../x with 404: the URL is normalised to another path that no route matches', async () => {
    const res = await agent.api('DELETE', '/v1/pools/default/volumes/../x');
    expectApiError(
      res,
      404,
      'VMHOP_ERR_ROUTE_NOT_FOUND',
      /no such API route: DELETE \/v1\/pools\/default\/x/,
    );
  });
});

describe('DELETE /v1/pools/:pool/volumes/:volume', () => {
  it('deletes an unused volume and its file', async () => {
    await agent.createVolume('d0.qcow2');
    expect((await agent.api('DELETE', '/v1/pools/default/volumes/d0.qcow2')).body).toEqual({ ok: true });
    expect(agent.defaultPoolFiles()).toEqual([]);
  });

  it('refuses a volume a defined VM uses with 409 VMHOP_ERR_VOLUME_IN_USE naming the VM, and keeps the file', async () => {
    await agent.createVolume('d0.qcow2');
    const spec = kernelVm('web1', { disks: [{ target: 'vda', pool: 'default', volume: 'd0.qcow2' }] });
    expect((await agent.api('POST', '/v1/vms', { spec })).status).toBe(201);
    const res = await agent.api('DELETE', '/v1/pools/default/volumes/d0.qcow2');
    const err = expectApiError(res, 409, 'VMHOP_ERR_VOLUME_IN_USE', quoted('web1'), /default\/d0\.qcow2/);
    expect(err.details).toEqual({ pool: 'default', volume: 'd0.qcow2', vm: 'web1' });
    expect(agent.defaultPoolFiles()).toEqual(['d0.qcow2']);
    // Once the VM is undefined, the volume can go.
    expect((await agent.api('DELETE', '/v1/vms/web1')).status).toBe(200);
    expect((await agent.api('DELETE', '/v1/pools/default/volumes/d0.qcow2')).status).toBe(200);
  });

  it('refuses a volume a running process holds open (as a VM of another host sharing the pool would), and keeps it', async () => {
    // No VM of this agent uses it: only the image's lock tells. qemu-nbd holds it as QEMU does.
    const vol = await agent.createVolume('d0.qcow2');
    const holder = execa(
      'qemu-nbd',
      ['--socket', `${agent.defaultPoolDir}/.nbd.sock`, '-f', 'qcow2', vol.path],
      {
        reject: false,
      },
    );
    try {
      const locked = async () =>
        (await execa('qemu-img', ['info', vol.path], { reject: false })).exitCode !== 0;
      for (let i = 0; i < 50 && !(await locked()); i++) await new Promise((r) => setTimeout(r, 100));
      const res = await agent.api('DELETE', '/v1/pools/default/volumes/d0.qcow2');
      expectApiError(res, 409, 'VMHOP_ERR_VOLUME_IN_USE', quoted('d0.qcow2'), /open in a running QEMU/);
      expect(agent.defaultPoolFiles()).toContain('d0.qcow2');
    } finally {
      holder.kill('SIGTERM');
      await holder;
    }
    expect((await agent.api('DELETE', '/v1/pools/default/volumes/d0.qcow2')).status).toBe(200);
  });

  it('refuses the base of an overlay with 409 VMHOP_ERR_VOLUME_IN_USE naming the overlay', async () => {
    await agent.createVolume('base.qcow2');
    expect((await create({ name: 'top.qcow2', backingVolume: 'base.qcow2' })).status).toBe(201);
    const res = await agent.api('DELETE', '/v1/pools/default/volumes/base.qcow2');
    expectApiError(res, 409, 'VMHOP_ERR_VOLUME_IN_USE', quoted('base.qcow2'), quoted('top.qcow2'));
    expect(agent.defaultPoolFiles()).toEqual(['base.qcow2', 'top.qcow2']);
  });

  it('answers an unknown volume with 404 VMHOP_ERR_VOLUME_NOT_FOUND naming it and the volumes there', async () => {
    await agent.createVolume('d0.qcow2');
    const res = await agent.api('DELETE', '/v1/pools/default/volumes/nope.qcow2');
    expectApiError(res, 404, 'VMHOP_ERR_VOLUME_NOT_FOUND', quoted('nope.qcow2'), /volumes there: `d0.qcow2`/);
    expectApiError(
      await agent.api('GET', '/v1/pools/default/volumes/nope.qcow2'),
      404,
      'VMHOP_ERR_VOLUME_NOT_FOUND',
    );
  });

  it('answers a volume of an unknown pool with 404 VMHOP_ERR_POOL_NOT_FOUND', async () => {
    expectApiError(
      await agent.api('DELETE', '/v1/pools/fast/volumes/d0.qcow2'),
      404,
      'VMHOP_ERR_POOL_NOT_FOUND',
      quoted('fast'),
    );
  });
});
