// POST /v1/vms (virsh define) through inject(): a valid definition, and every way one is
// refused: the status, the code, a message naming the offending value, and a VM list that
// is unchanged afterwards.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VmSpecInput } from '../../src/protocol/vm-spec.js';
import { expectApiError, literally, quoted } from './helpers/api-expect.js';
import { TestAgent } from './helpers/test-agent.js';
import { kernelVm } from './helpers/vm-specs.js';

let agent: TestAgent;
beforeEach(async () => {
  agent = await TestAgent.start();
  await agent.createVolume('d0.qcow2');
});
afterEach(async () => {
  await agent.close();
});

const disk = (volume: string, pool = 'default', target = 'vda') => ({ target, pool, volume });

describe('POST /v1/vms', () => {
  it('defines a direct-kernel VM with a disk on a volume of the default pool as shutoff (201)', async () => {
    const spec = kernelVm('web1', { disks: [disk('d0.qcow2')] });
    const res = await agent.api('POST', '/v1/vms', { spec });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'web1',
      uuid: spec.uuid,
      state: 'shutoff',
      pid: null,
      owner: 'local',
    });
    // Defaults are filled in and stored.
    expect(res.body.spec).toMatchObject({
      vcpus: 1,
      cpuModel: 'qemu64',
      disks: [{ format: 'qcow2', cache: 'none' }],
    });
    expect(await agent.vmNames()).toEqual(['web1']);
    const got = await agent.api('GET', '/v1/vms/web1');
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      name: 'web1',
      state: 'shutoff',
      savedState: false,
      spec: res.body.spec,
    });
  });

  describe('once `web1` is defined', () => {
    let uuid: string;
    beforeEach(async () => {
      const spec = kernelVm('web1', { disks: [disk('d0.qcow2')] });
      uuid = spec.uuid;
      expect((await agent.api('POST', '/v1/vms', { spec })).status).toBe(201);
    });

    it('refuses a second VM of the same name with 409 VMHOP_ERR_VM_EXISTS and keeps the first', async () => {
      const res = await agent.api('POST', '/v1/vms', { spec: kernelVm('web1') });
      expectApiError(res, 409, 'VMHOP_ERR_VM_EXISTS', quoted('web1'));
      expect(await agent.vmNames()).toEqual(['web1']);
      expect((await agent.api('GET', '/v1/vms/web1')).body.uuid).toBe(uuid);
    });

    it('refuses a VM with the uuid of another with 409 VMHOP_ERR_VM_EXISTS naming the uuid and its owner', async () => {
      const res = await agent.api('POST', '/v1/vms', { spec: kernelVm('web2', { uuid }) });
      expectApiError(res, 409, 'VMHOP_ERR_VM_EXISTS', literally(uuid), quoted('web1'));
      expect(await agent.vmNames()).toEqual(['web1']);
    });
  });

  it.each<[string, Partial<VmSpecInput>, RegExp]>([
    ['a name that starts with a dash', { name: '-web' }, /name: VM name/],
    ['a name with a space', { name: 'web 1' }, /name: VM name/],
    ['memoryMiB 0', { memoryMiB: 0 }, /memoryMiB: .*16/],
    ['a disk target that is not vdX', { disks: [disk('d0.qcow2', 'default', 'sda')] }, /disks\.0\.target/],
    [
      'a relative kernel path',
      { boot: { kind: 'kernel', kernel: 'vmlinuz' } },
      /boot\.kernel: kernel must be an absolute path/,
    ],
    ['a MAC in upper case', { nics: [{ mac: '52:54:00:AB:CD:EF', bridge: 'br0' }] }, /nics\.0\.mac/],
  ])('refuses %s with 400 VMHOP_ERR_VM_SPEC_INVALID naming the field', async (_what, change, field) => {
    const res = await agent.api('POST', '/v1/vms', { spec: kernelVm('web1', change) });
    expectApiError(res, 400, 'VMHOP_ERR_VM_SPEC_INVALID', field);
    expect(await agent.vmNames()).toEqual([]);
  });

  it('refuses a spec without a uuid with 400 VMHOP_ERR_VM_SPEC_INVALID naming the field', async () => {
    const { uuid: _uuid, ...spec } = kernelVm('web1');
    expectApiError(
      await agent.api('POST', '/v1/vms', { spec }),
      400,
      'VMHOP_ERR_VM_SPEC_INVALID',
      /uuid: Required/,
    );
    expect(await agent.vmNames()).toEqual([]);
  });

  it('refuses a body without a spec with 400 VMHOP_ERR_VM_SPEC_INVALID', async () => {
    expectApiError(await agent.api('POST', '/v1/vms', {}), 400, 'VMHOP_ERR_VM_SPEC_INVALID', /Required/);
    expect(await agent.vmNames()).toEqual([]);
  });

  it('refuses a disk in an unknown pool with 404 VMHOP_ERR_POOL_NOT_FOUND naming it and the pools there', async () => {
    const res = await agent.api('POST', '/v1/vms', {
      spec: kernelVm('web1', { disks: [disk('d0.qcow2', 'fast')] }),
    });
    expectApiError(res, 404, 'VMHOP_ERR_POOL_NOT_FOUND', quoted('fast'), /pools here: `default`/);
    expect(await agent.vmNames()).toEqual([]);
  });

  it('refuses a disk on a missing volume with 404 VMHOP_ERR_VOLUME_NOT_FOUND naming it and the volumes there', async () => {
    const res = await agent.api('POST', '/v1/vms', {
      spec: kernelVm('web1', { disks: [disk('gone.qcow2')] }),
    });
    expectApiError(
      res,
      404,
      'VMHOP_ERR_VOLUME_NOT_FOUND',
      quoted('gone.qcow2'),
      quoted('default'),
      /volumes there: `d0.qcow2`/,
    );
    expect(await agent.vmNames()).toEqual([]);
  });

  it('refuses more memory than the host has with 422 VMHOP_ERR_HOST_INSUFFICIENT_MEMORY naming both amounts', async () => {
    const res = await agent.api('POST', '/v1/vms', { spec: kernelVm('big', { memoryMiB: 1_048_576 }) });
    const err = expectApiError(res, 422, 'VMHOP_ERR_HOST_INSUFFICIENT_MEMORY', quoted('big'), /1048576 MiB/);
    expect(err.message).toMatch(literally(`${err.details.hostTotalMiB as number} MiB`));
    expect(await agent.vmNames()).toEqual([]);
  });

  it('refuses two disks with the same target with 400 VMHOP_ERR_VM_SPEC_INVALID', async () => {
    const spec = kernelVm('web1', { disks: [disk('d0.qcow2'), disk('d0.qcow2')] });
    expectApiError(await agent.api('POST', '/v1/vms', { spec }), 400, 'VMHOP_ERR_VM_SPEC_INVALID', /vda/);
    expect(await agent.vmNames()).toEqual([]);
  });

  it('lets a VM use any volume the pools API can create, such as `disk+1.qcow2`', async () => {
    await agent.createVolume('disk+1.qcow2');
    const res = await agent.api('POST', '/v1/vms', {
      spec: kernelVm('web1', { disks: [disk('disk+1.qcow2')] }),
    });
    expect(res.status, res.text).toBe(201);
  });
});
