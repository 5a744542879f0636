// The test bed itself: hosts with private and shared storage, reachable management
// addresses, and a migration link that can be cut, restored and shaped.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import * as testbed from '../../src/testbed/testbed.js';
import { runOnHost } from '../../src/testbed/host-exec.js';
import { connectFrom, listenOn } from './helpers/tcp.js';

afterEach(async () => {
  await testbed.link('migration', 'up');
  await testbed.link('guest', 'up');
  await testbed.shape({});
});

describe('test bed', () => {
  it('is idempotent: a second up changes nothing and reports the same hosts', async () => {
    const before = await testbed.status();
    await testbed.up();
    const after = await testbed.status();
    expect(after.hosts).toEqual(before.hosts);
    expect(after.hosts.map((h) => [h.name, h.exists])).toEqual([
      ['a', true],
      ['b', true],
    ]);
    expect(after.client.exists).toBe(true);
    expect(after.links.migration.state).toBe('up');
  });

  it('gives each host its own /var/lib/vmhop and one shared directory at the same path', async () => {
    const [a, b] = [await testbed.hostOf('a'), await testbed.hostOf('b')];
    await runOnHost(a, [
      'sh',
      '-c',
      'echo from-a > /var/lib/vmhop/whoami && echo shared-by-a > /srv/vmhop-shared/probe',
    ]);
    await runOnHost(b, ['sh', '-c', 'echo from-b > /var/lib/vmhop/whoami']);
    expect((await runOnHost(a, ['cat', '/var/lib/vmhop/whoami'])).stdout).toBe('from-a');
    expect((await runOnHost(b, ['cat', '/var/lib/vmhop/whoami'])).stdout).toBe('from-b');
    expect((await runOnHost(b, ['cat', '/srv/vmhop-shared/probe'])).stdout).toBe('shared-by-a');
    expect(await readFile(`${a.backingData}/whoami`, 'utf8')).toBe('from-a\n');
    await writeFile(`${b.backingData}/x`, '');
    await rm(`${b.backingData}/x`);
  });

  it('reaches every host management address from the root namespace', async () => {
    const a = await testbed.hostOf('a');
    const r = await runOnHost(a, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'mgmt0']);
    expect(r.stdout).toContain(a.mgmtAddress);
    const { execa } = await import('execa');
    const probe = execa(process.execPath, [
      '-e',
      `require('node:net').connect({host:'${a.mgmtAddress}',port:9}).on('error',e=>{console.log(e.code);process.exit(0)}).setTimeout(3000,()=>{console.log('timeout');process.exit(0)})`,
    ]);
    // A refused connection proves the packet reached host a's kernel and came back.
    expect((await probe).stdout.trim()).toBe('ECONNREFUSED');
  });

  it('cuts and restores traffic between the migration addresses', async () => {
    const [a, b] = [await testbed.hostOf('a'), await testbed.hostOf('b')];
    const listener = await listenOn(b, b.migrationAddress, 4900, 60_000);
    try {
      expect(await connectFrom(a, b.migrationAddress, 4900, 3_000)).toBe('pong');
      await testbed.link('migration', 'down');
      expect((await testbed.status()).links.migration.state).toBe('down');
      expect(await connectFrom(a, b.migrationAddress, 4900, 2_000)).toBe('timeout');
      await testbed.link('migration', 'up');
      expect(await connectFrom(a, b.migrationAddress, 4900, 3_000)).toBe('pong');
    } finally {
      listener.stop();
    }
  });

  it('shapes the migration link in both directions', async () => {
    const [a, b] = [await testbed.hostOf('a'), await testbed.hostOf('b')];
    await testbed.shape({ rate: '100mbit' });
    for (const h of [a, b]) {
      const q = (await runOnHost(h, ['tc', 'qdisc', 'show', 'dev', 'mig0'])).stdout;
      expect(q).toMatch(/tbf 1: root .*rate 100Mbit/);
    }
    expect((await testbed.status()).links.migration.shaping).toEqual({ rate: '100mbit' });
  });

  it('adds delay with netem where the kernel has it, and otherwise says so and leaves the link unshaped', async () => {
    const a = await testbed.hostOf('a');
    const hasNetem = await testbed.shape({ rate: '100mbit', delay: '5ms' }).then(
      () => true,
      (e: Error) => {
        expect(e.message).toMatch(/no netem qdisc \(sch_netem\), which --delay and --loss need/);
        return false;
      },
    );
    const q = (await runOnHost(a, ['tc', 'qdisc', 'show', 'dev', 'mig0'])).stdout;
    if (hasNetem) expect(q).toMatch(/netem 10: parent 1:1 .*delay 5ms/);
    else {
      expect(q).not.toMatch(/tbf/);
      expect((await testbed.status()).links.migration.shaping).toEqual({});
    }
  });
});
