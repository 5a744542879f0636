// The agent's path policy (config allowedPoolRoots, allowedBootDirs): a client token can
// put a pool only under an allowed root and boot a guest only from an allowed directory,
// however the path is spelled. Before it, a pool at `/etc` or a kernel of `/etc/shadow` was
// accepted. The test agent allows the system temp directory for pools and /boot for kernels.
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentConfig } from '../../src/agent/config.js';
import { VmSpec } from '../../src/protocol/vm-spec.js';
import { expectApiError, literally } from './helpers/api-expect.js';
import { TestAgent } from './helpers/test-agent.js';
import { kernelVm } from './helpers/vm-specs.js';

let agent: TestAgent;
beforeEach(async () => {
  agent = await TestAgent.start();
});
afterEach(async () => {
  await agent.close();
});

describe('pools only under the allowed roots', () => {
  it.each(['/', '/etc', '/root', '/proc', '/etc/../etc', '/var/lib/../../etc'])(
    'refuses a dir pool at %s with 403 VMHOP_ERR_PATH_NOT_ALLOWED naming the setting',
    async (path) => {
      const res = await agent.api('POST', '/v1/pools', { name: 'p', kind: 'dir', path });
      const err = expectApiError(
        res,
        403,
        'VMHOP_ERR_PATH_NOT_ALLOWED',
        literally(`\`${path}\``),
        /allowedPoolRoots/,
        literally(`\`${tmpdir()}\``),
      );
      expect(err.details.setting).toBe('allowedPoolRoots');
      expect((await agent.api('GET', '/v1/pools/p')).status).toBe(404);
    },
  );

  it('refuses a shared pool reached through a link from an allowed root to /etc', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmhop-policy-'));
    try {
      await symlink('/etc', join(dir, 'etc-link'));
      const res = await agent.api('POST', '/v1/pools', {
        name: 'p',
        kind: 'shared',
        path: join(dir, 'etc-link'),
      });
      expectApiError(res, 403, 'VMHOP_ERR_PATH_NOT_ALLOWED', /etc-link/);
      expect(await readdir('/etc')).not.toContain('.vmhop-pool');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('defines a pool under an allowed root and under the data directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmhop-policy-'));
    try {
      expect((await agent.api('POST', '/v1/pools', { name: 'ok', kind: 'dir', path: dir })).status).toBe(201);
      const inData = join(agent.dataDir, 'more');
      await mkdir(inData);
      const strict = await TestAgent.start({ allowedPoolRoots: ['/var/lib/libvirt/images'] });
      try {
        const own = join(strict.dataDir, 'more');
        await mkdir(own);
        const res = await strict.api('POST', '/v1/pools', { name: 'more', kind: 'dir', path: own });
        expect(res.status, res.text).toBe(201);
        expectApiError(
          await strict.api('POST', '/v1/pools', { name: 'tmp', kind: 'dir', path: dir }),
          403,
          'VMHOP_ERR_PATH_NOT_ALLOWED',
        );
      } finally {
        await strict.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('kernels and initrds only from the allowed boot directories', () => {
  it.each([
    ['kernel', { kind: 'kernel', kernel: '/etc/shadow' }],
    ['kernel', { kind: 'kernel', kernel: '/boot/../etc/shadow' }],
    ['initrd', { kind: 'kernel', kernel: '/boot/vmlinuz-test', initrd: '/root/.ssh/id_rsa' }],
  ] as const)(
    'refuses a %s outside them with 403 naming the file and allowedBootDirs',
    async (what, boot) => {
      const res = await agent.api('POST', '/v1/vms', { spec: kernelVm('boot', { boot }) });
      const path = what === 'kernel' ? boot.kernel : (boot as { initrd: string }).initrd;
      const err = expectApiError(
        res,
        403,
        'VMHOP_ERR_PATH_NOT_ALLOWED',
        literally(`the ${what} \`${path}\` of VM \`boot\``),
        /allowedBootDirs/,
      );
      expect(err.details.allowed).toContain('/boot');
      expect(await agent.vmNames()).toEqual([]);
    },
  );

  it('refuses a kernel behind a link in an allowed directory that leads out of it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmhop-policy-'));
    const link = join(agent.dataDir, 'vmlinuz-link');
    try {
      await writeFile(join(dir, 'secret'), 'x');
      await symlink(join(dir, 'secret'), link);
      const res = await agent.api('POST', '/v1/vms', {
        spec: kernelVm('boot', { boot: { kind: 'kernel', kernel: link } }),
      });
      expectApiError(res, 403, 'VMHOP_ERR_PATH_NOT_ALLOWED', literally(link));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses at start a VM whose kernel left the allowed directories after it was defined', async () => {
    // As a registry from before the policy, or a migration, would hold it.
    agent.services.vmStore.insert(
      VmSpec.parse(kernelVm('old', { boot: { kind: 'kernel', kernel: '/etc/hostname' } })),
    );
    const res = await agent.api('POST', '/v1/vms/old/start');
    expectApiError(res, 403, 'VMHOP_ERR_PATH_NOT_ALLOWED', literally('/etc/hostname'));
    expect((await agent.api('GET', '/v1/vms/old')).body.state).toBe('shutoff');
  });
});

describe('the agent config', () => {
  it('refuses `/` as an allowed root, which would allow every file', () => {
    const r = AgentConfig.safeParse({ name: 'h', listen: '127.0.0.1:1', allowedPoolRoots: ['/'] });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(/would allow every file/);
  });

  it('has defaults that leave out /etc, /root and /boot', () => {
    const cfg = AgentConfig.parse({ name: 'h', listen: '127.0.0.1:1' });
    expect(cfg.allowedPoolRoots).toEqual([
      '/var/lib/vmhop',
      '/var/lib/libvirt/images',
      '/srv',
      '/mnt',
      '/media',
    ]);
    expect(cfg.allowedBootDirs).toEqual(['/var/lib/libvirt/boot']);
  });
});
