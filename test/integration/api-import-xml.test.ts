// POST /v1/vms/import-xml (virsh define FILE.xml) and GET /v1/vms/:name/xml (virsh dumpxml)
// through inject(): libvirt domain XML whose disks must lie in a pool of this host.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectApiError, literally, quoted } from './helpers/api-expect.js';
import { TestAgent } from './helpers/test-agent.js';

let agent: TestAgent;
beforeEach(async () => {
  agent = await TestAgent.start();
  await agent.createVolume('d0.qcow2');
});
afterEach(async () => {
  await agent.close();
});

function domainXml(name: string, diskPath: string, uuid = randomUUID(), extraDevices = ''): string {
  return `<domain type='kvm'>
  <name>${name}</name>
  <uuid>${uuid}</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>/boot/vmlinuz-guest</kernel>
    <cmdline>console=ttyS0</cmdline>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source file='${diskPath}'/>
      <target dev='vda' bus='virtio'/>
    </disk>${extraDevices}
  </devices>
</domain>`;
}

const importXml = (xml: unknown) => agent.api('POST', '/v1/vms/import-xml', { xml });

describe('POST /v1/vms/import-xml', () => {
  it('defines a VM from domain XML whose disk is in the default pool (201, with warnings)', async () => {
    const uuid = randomUUID();
    const xml = domainXml(
      'imported',
      `${agent.defaultPoolDir}/d0.qcow2`,
      uuid,
      "\n    <graphics type='spice'/>",
    );
    const res = await importXml(xml);
    expect(res.status, res.text).toBe(201);
    expect(res.body.vm).toMatchObject({
      name: 'imported',
      uuid,
      state: 'shutoff',
      spec: {
        vcpus: 2,
        memoryMiB: 256,
        machine: 'pc',
        disks: [{ target: 'vda', pool: 'default', volume: 'd0.qcow2', cache: 'none' }],
      },
    });
    expect(res.body.warnings).toBeInstanceOf(Array);
    // This host has no KVM (accel tcg): the importer says the VM runs with TCG.
    expect((res.body.warnings as string[]).join('\n')).toMatch(/TCG/);
    expect((res.body.warnings as string[]).join('\n')).toMatch(/spice/);
    expect(await agent.vmNames()).toEqual(['imported']);
  });

  it('exports the imported VM as XML naming it, its uuid and its disk path', async () => {
    const uuid = randomUUID();
    expect((await importXml(domainXml('imported', `${agent.defaultPoolDir}/d0.qcow2`, uuid))).status).toBe(
      201,
    );
    const res = await agent.api('GET', '/v1/vms/imported/xml');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/xml/);
    expect(res.text).toContain('<name>imported</name>');
    expect(res.text).toContain(`<uuid>${uuid}</uuid>`);
    expect(res.text).toContain(`<source file='${agent.defaultPoolDir}/d0.qcow2'/>`);
    expect(res.text).toMatch(/<domain type='qemu'>/);
  });

  it('refuses malformed XML with 400 VMHOP_ERR_XML_INVALID naming the line', async () => {
    const res = await importXml("<domain type='kvm'>\n  <name>x</name>\n  <uuid>");
    const err = expectApiError(res, 400, 'VMHOP_ERR_XML_INVALID', /malformed at line \d+/);
    expect(err.details).toHaveProperty('line');
    expect(await agent.vmNames()).toEqual([]);
  });

  it('refuses XML that is not a domain with 400 VMHOP_ERR_XML_INVALID naming the root element', async () => {
    expectApiError(
      await importXml('<network><name>default</name></network>'),
      400,
      'VMHOP_ERR_XML_INVALID',
      /<network>/,
    );
    expect(await agent.vmNames()).toEqual([]);
  });

  it('refuses a DOCTYPE (no entity expansion) with 400 VMHOP_ERR_XML_INVALID', async () => {
    const xml = `<!DOCTYPE domain [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n${domainXml('&x;', '/x')}`;
    expectApiError(await importXml(xml), 400, 'VMHOP_ERR_XML_INVALID', /DOCTYPE/);
    expect(await agent.vmNames()).toEqual([]);
  });

  it('refuses XML nested 100,000 deep with 400 VMHOP_ERR_XML_INVALID, not a 500 from the parser', async () => {
    const n = 100_000;
    const xml = `<domain type='kvm'>${'<a>'.repeat(n)}${'</a>'.repeat(n)}</domain>`;
    expectApiError(await importXml(xml), 400, 'VMHOP_ERR_XML_INVALID', /nests elements 100001 deep/);
    expect(await agent.vmNames()).toEqual([]);
  });

  it.each([
    ['an element', '\n    <__proto__><polluted>1</polluted></__proto__>', '__proto__'],
    ['an attribute', "\n    <graphics type='vnc' constructor='x'/>", 'constructor'],
  ])('refuses %s named like a JavaScript prototype key with 400, naming it', async (_what, extra, name) => {
    const xml = domainXml('proto', `${agent.defaultPoolDir}/d0.qcow2`, randomUUID(), extra);
    expectApiError(await importXml(xml), 400, 'VMHOP_ERR_XML_INVALID', literally(`\`${name}\``));
    expect(await agent.vmNames()).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a disk outside every pool with 400 VMHOP_ERR_PATH_OUTSIDE_POOL naming the path and the fix', async () => {
    const res = await importXml(domainXml('outside', '/srv/elsewhere/disk.qcow2'));
    const err = expectApiError(
      res,
      400,
      'VMHOP_ERR_PATH_OUTSIDE_POOL',
      literally('/srv/elsewhere/disk.qcow2'),
      /vmhop pool-define NAME --kind dir --path \/srv\/elsewhere/,
    );
    expect(err.details.disks).toEqual([{ target: 'vda', path: '/srv/elsewhere/disk.qcow2' }]);
    expect(await agent.vmNames()).toEqual([]);
  });

  it('refuses a disk path in the pool directory that holds no volume with 404 VMHOP_ERR_VOLUME_NOT_FOUND', async () => {
    const res = await importXml(domainXml('missing', `${agent.defaultPoolDir}/nope.qcow2`));
    expectApiError(res, 404, 'VMHOP_ERR_VOLUME_NOT_FOUND', quoted('nope.qcow2'), quoted('default'));
    expect(await agent.vmNames()).toEqual([]);
  });

  it('refuses a domain whose name is taken with 409 VMHOP_ERR_VM_EXISTS and keeps the first', async () => {
    const disk = `${agent.defaultPoolDir}/d0.qcow2`;
    const first = await importXml(domainXml('imported', disk));
    expect(first.status).toBe(201);
    expectApiError(
      await importXml(domainXml('imported', disk)),
      409,
      'VMHOP_ERR_VM_EXISTS',
      quoted('imported'),
    );
    expect((await agent.api('GET', '/v1/vms/imported')).body.uuid).toBe(first.body.vm.uuid);
  });

  it('refuses an empty xml field with 400 VMHOP_ERR_USAGE naming the field', async () => {
    expectApiError(await importXml(''), 400, 'VMHOP_ERR_USAGE', /xml: /);
    expectApiError(
      await agent.api('POST', '/v1/vms/import-xml', {}),
      400,
      'VMHOP_ERR_USAGE',
      /xml: Required/,
    );
  });
});

describe('GET /v1/vms/:name/xml', () => {
  it('answers an unknown VM with 404 VMHOP_ERR_VM_NOT_FOUND', async () => {
    expectApiError(
      await agent.api('GET', '/v1/vms/ghost/xml'),
      404,
      'VMHOP_ERR_VM_NOT_FOUND',
      quoted('ghost'),
    );
  });
});
