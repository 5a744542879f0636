// The per-VM routes (GET, DELETE, xml, console and the virsh actions) on VMs that do not
// exist or are shut off, and starts that fail before QEMU runs: each refusal's status, code
// and message, and that the VM is left as it was (shutoff, no QEMU, no tap device).
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tapName } from '../../src/agent/vm/network.js';
import { expectApiError, literally, quoted } from './helpers/api-expect.js';
import { TestAgent } from './helpers/test-agent.js';
import { kernelVm } from './helpers/vm-specs.js';

const actions = ['start', 'shutdown', 'destroy', 'suspend', 'resume', 'reboot', 'save', 'restore'] as const;

let agent: TestAgent;
beforeEach(async () => {
  agent = await TestAgent.start();
  expect((await agent.api('POST', '/v1/vms', { spec: kernelVm('web1') })).status).toBe(201);
});
afterEach(async () => {
  await agent.close();
});

async function expectShutoff(name: string): Promise<void> {
  const res = await agent.api('GET', `/v1/vms/${name}`);
  expect(res.body).toMatchObject({ state: 'shutoff', pid: null });
  expect(agent.qemuPids()).toEqual([]);
}

describe('a VM that does not exist', () => {
  const routes: [string, string][] = [
    ['GET', '/v1/vms/ghost'],
    ['DELETE', '/v1/vms/ghost'],
    ['GET', '/v1/vms/ghost/xml'],
    ['GET', '/v1/vms/ghost/console'],
    ...actions.map((a): [string, string] => ['POST', `/v1/vms/ghost/${a}`]),
  ];
  it.each(routes)(
    '%s %s answers 404 VMHOP_ERR_VM_NOT_FOUND naming the VM and the VMs here',
    async (method, url) => {
      const res = await agent.api(method as 'GET', url, method === 'POST' ? {} : undefined);
      const err = expectApiError(res, 404, 'VMHOP_ERR_VM_NOT_FOUND', quoted('ghost'), /VMs here: `web1`/);
      expect(err.details).toEqual({ vm: 'ghost', vms: ['web1'] });
      expect(await agent.vmNames()).toEqual(['web1']);
    },
  );

  it('says `(none)` when the host has no VMs at all', async () => {
    expect((await agent.api('DELETE', '/v1/vms/web1')).status).toBe(200);
    expectApiError(
      await agent.api('GET', '/v1/vms/ghost'),
      404,
      'VMHOP_ERR_VM_NOT_FOUND',
      /VMs here: \(none\)/,
    );
  });
});

describe('a VM that is shut off', () => {
  it.each(['suspend', 'resume', 'shutdown', 'destroy', 'reboot'])(
    '%s answers 409 VMHOP_ERR_VM_STATE naming the VM and its state',
    async (action) => {
      const res = await agent.api('POST', `/v1/vms/web1/${action}`, {});
      expectApiError(res, 409, 'VMHOP_ERR_VM_STATE', quoted('web1'), /shutoff/);
      await expectShutoff('web1');
    },
  );

  it('save answers 409 VMHOP_ERR_VM_STATE and writes no state file', async () => {
    expectApiError(
      await agent.api('POST', '/v1/vms/web1/save', {}),
      409,
      'VMHOP_ERR_VM_STATE',
      quoted('web1'),
      /shutoff/,
    );
    expect((await agent.api('GET', '/v1/vms/web1')).body.savedState).toBe(false);
    await expectShutoff('web1');
  });

  it('restore without a saved state answers 409 VMHOP_ERR_VM_STATE pointing to start', async () => {
    const res = await agent.api('POST', '/v1/vms/web1/restore', {});
    expectApiError(res, 409, 'VMHOP_ERR_VM_STATE', quoted('web1'), /no saved state/, /vmhop start web1/);
    await expectShutoff('web1');
  });

  it('is undefined by DELETE, after which it is gone from the list', async () => {
    expect((await agent.api('DELETE', '/v1/vms/web1')).body).toEqual({ ok: true });
    expect(await agent.vmNames()).toEqual([]);
  });

  it('has an empty console log before it ever ran', async () => {
    const res = await agent.api('GET', '/v1/vms/web1/console');
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
  });
});

describe('a VM name in the URL that is not a VM name', () => {
  it.each([
    'GET /v1/vms/-web',
    'DELETE /v1/vms/web%201',
    'POST /v1/vms/.hidden/start',
    'GET /v1/vms/a%2Fb/xml',
  ])('%s answers 400 VMHOP_ERR_USAGE naming the parameter', async (call) => {
    const [method, url] = call.split(' ') as [string, string];
    const res = await agent.api(method as 'GET', url, method === 'POST' ? {} : undefined);
    expectApiError(res, 400, 'VMHOP_ERR_USAGE', /name: not a valid VM name/);
    expect(await agent.vmNames()).toEqual(['web1']);
  });

  it('names the value that is not a VM name', async () => {
    expectApiError(await agent.api('GET', '/v1/vms/-web'), 400, 'VMHOP_ERR_USAGE', quoted('-web'));
  });
});

describe('an action without a body', () => {
  it('is the same as an empty body: suspend of a shut-off VM answers 409 VMHOP_ERR_VM_STATE', async () => {
    expectApiError(await agent.api('POST', '/v1/vms/web1/suspend'), 409, 'VMHOP_ERR_VM_STATE');
  });
});

describe('a start that cannot happen', () => {
  it('of a VM whose NIC names a missing bridge answers 400 VMHOP_ERR_VM_SPEC_INVALID and makes no tap device', async () => {
    const spec = kernelVm('net1', { nics: [{ mac: '52:54:00:12:34:56', bridge: 'vmhopnobr0' }] });
    expect((await agent.api('POST', '/v1/vms', { spec })).status).toBe(201);
    const res = await agent.api('POST', '/v1/vms/net1/start', {});
    const err = expectApiError(
      res,
      400,
      'VMHOP_ERR_VM_SPEC_INVALID',
      quoted('vmhopnobr0'),
      quoted('net1'),
      /bridges here/,
    );
    expect(err.details).toMatchObject({ vm: 'net1', bridge: 'vmhopnobr0' });
    const links = (await execa('ip', ['-o', 'link', 'show'])).stdout;
    expect(links).not.toContain(tapName(spec.uuid, 0));
    await expectShutoff('net1');
  });

  it("of a VM whose kernel is missing answers 500 VMHOP_ERR_QEMU_START_FAILED with QEMU's reason, and stays shutoff", async () => {
    const spec = kernelVm('nokernel', {
      boot: { kind: 'kernel', kernel: '/boot/vmhop-nonexistent/vmlinuz' },
    });
    expect((await agent.api('POST', '/v1/vms', { spec })).status).toBe(201);
    const res = await agent.api('POST', '/v1/vms/nokernel/start', {});
    expectApiError(
      res,
      500,
      'VMHOP_ERR_QEMU_START_FAILED',
      quoted('nokernel'),
      literally('/boot/vmhop-nonexistent/vmlinuz'),
    );
    await expectShutoff('nokernel');
  });

  it('with an option of the wrong type answers 400 VMHOP_ERR_USAGE naming the field', async () => {
    const res = await agent.api('POST', '/v1/vms/web1/start', { paused: 'yes' });
    expectApiError(res, 400, 'VMHOP_ERR_USAGE', /paused: Expected boolean/);
    await expectShutoff('web1');
  });
});
