// What each agent of the test bed read from its QEMU at start, as an administrator sees it:
// `host info` (human and --json) with the version, package and migration features, and a live
// dry run whose pre-flight compares both hosts' QEMU (version order, the machine type the target
// must run, the options) and names what a QEMU refuses. Defines a VM but boots nothing: the
// refusal logic across versions (QEMU 7.2 under TCG) is covered in
// test/integration/migration-qemu-versions.test.ts with two agents on 7.2 and 10.
import { execa } from 'execa';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { HostInfo } from '../../src/protocol/host.js';
import type { PreflightCheck } from '../../src/protocol/migration.js';
import { REPO_ROOT } from '../../src/repo/paths.js';
import { removeVmEverywhere, vmhop, vmhopOk } from './helpers/cli.js';

const VM = 'qfacts1';

afterAll(() => removeVmEverywhere(VM));

/** The pre-flight checks of a live dry run of VM to b, by name. */
async function dryRun(extra: string[] = []): Promise<Record<string, PreflightCheck>> {
  const r = await vmhopOk<{ preflight: PreflightCheck[] }>([
    '-c',
    'a',
    'migrate',
    VM,
    '--to',
    'b',
    '--live',
    '--dry-run',
    ...extra,
  ]);
  return Object.fromEntries(r.preflight.map((c) => [c.name, c]));
}

describe('QEMU facts on the test bed', () => {
  it('host info shows the QEMU version, its package and the migration features read at agent start', async () => {
    const host = await vmhopOk<HostInfo>(['-c', 'a', 'host', 'info']);
    const installed = /version (\d+\.\d+\.\d+)/.exec(
      (await execa('qemu-system-x86_64', ['--version'])).stdout,
    )?.[1];
    expect(host.qemuVersion).toBe(installed);
    expect(host.qemuPackage).not.toBe('');
    expect(host.qemuFeatures.migrationCapabilities).toEqual(
      expect.arrayContaining(['events', 'multifd', 'postcopy-ram', 'pause-before-switchover']),
    );
    expect(host.qemuFeatures.multifdCompression).toContain('zstd');
    expect(host.qemuFeatures.commands).toEqual(expect.arrayContaining(['blockdev-mirror', 'migrate-pause']));

    const human = await execa(process.execPath, [
      join(REPO_ROOT, 'dist/src/cli/main.js'),
      '-c',
      'a',
      'host',
      'info',
    ]);
    expect(human.stdout).toContain(`QEMU:         ${host.qemuVersion} (${host.qemuPackage})`);
    expect(human.stdout).toMatch(/^Migr\. caps: {3}auto-converge, /m);
    expect(human.stdout).toContain('pause-before-switchover');
    expect(human.stdout).toMatch(/^Compression: {2}multifd: none, zlib, zstd$/m);
  });

  it('a live dry run compares both hosts’ QEMU and the machine type the target must run', async () => {
    await vmhopOk(['-c', 'a', 'create', VM, '--test-guest', '--memory', '64']);
    const [a, b] = await Promise.all([
      vmhopOk<HostInfo>(['-c', 'a', 'host', 'info']),
      vmhopOk<HostInfo>(['-c', 'b', 'host', 'info']),
    ]);
    const checks = await dryRun(['--insecure']);
    expect(checks['qemu-version']).toMatchObject({
      ok: true,
      detail: `QEMU ${a.qemuVersion} here, ${b.qemuVersion} on \`b\``,
    });
    // The VM is defined as `pc`; the target is asked for what `pc` is on a's QEMU.
    expect(checks['machine-type']).toMatchObject({
      ok: true,
      detail: `machine \`pc\` runs as \`${a.machineAliases['pc']}\` here; the target runs it as \`${a.machineAliases['pc']}\`, which \`b\` has`,
    });
    expect(checks['qemu-options']).toMatchObject({ ok: true });
    expect(checks['qemu-known-bad']).toBeUndefined();
  });

  it('refuses post-copy with multifd in the pre-flight, naming what the QEMU does with the pair, and moves nothing', async () => {
    const r = await vmhop(['-c', 'a', 'migrate', VM, '--to', 'b', '--live', '--postcopy', '--parallel', '2']);
    expect(r.exitCode).toBe(5);
    expect(JSON.stringify(r.json)).toMatch(
      /qemu-options: --postcopy cannot be combined with --parallel 2: QEMU \S+ /,
    );
    expect((await vmhopOk<{ vms: { name: string; state: string }[] }>(['-c', 'b', 'list'])).vms).toEqual([]);
  });
});
