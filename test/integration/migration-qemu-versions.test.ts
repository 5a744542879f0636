// Two agents in one process, joined by a direct peer link, each on its own QEMU: the source on
// Debian's QEMU 7.2 (scripts/qemu-7.2.sh) or the installed 10, the target on the other. Shows the
// pre-flight's QEMU checks with real probes of both binaries: the 7.2-under-TCG refusal and its
// --force, version order, and the machine type the target must have. The VMs are started paused
// (the guest never runs: what is checked is QEMU's, not the guest's).
import { afterEach, describe, expect, it } from 'vitest';
import { qemu72Binary } from '../../src/qmp/testing/test-qemu.js';
import type { PreflightCheck } from '../../src/protocol/migration.js';
import { expectApiError } from './helpers/api-expect.js';
import { DirectPeerLink } from './helpers/direct-peer-link.js';
import { TestAgent } from './helpers/test-agent.js';
import { kernelVm, testGuest } from './helpers/vm-specs.js';

const qemu72 = qemu72Binary();
const guest = testGuest();
let agents: TestAgent[] = [];
afterEach(async () => {
  await Promise.all(agents.map((a) => a.close()));
  agents = [];
});

/** Source `a` and target `b`, each on the given QEMU, `a` with VM `v1` (machine `machine`) paused. */
async function pair(source: string | undefined, target: string | undefined, machine = 'pc') {
  const a = await TestAgent.start({ name: 'a', ...(source ? { qemuBinary: source } : {}) });
  agents.push(a);
  const b = await TestAgent.start({ name: 'b', ...(target ? { qemuBinary: target } : {}) });
  agents.push(b);
  a.services.attachPeer(new DirectPeerLink('b', b.services));
  const spec = kernelVm('v1', {
    memoryMiB: 64,
    machine,
    boot: { kind: 'kernel', kernel: guest!.kernel, initrd: guest!.initrd, cmdline: 'console=ttyS0 quiet' },
  });
  expect((await a.api('POST', '/v1/vms', { spec })).status).toBe(201);
  const started = await a.api('POST', '/v1/vms/v1/start', { paused: true });
  expect(started.status, started.text).toBe(200);
  if (started.body.state !== 'paused')
    expect((await a.api('POST', '/v1/vms/v1/suspend', {})).status).toBe(200);
  return { a, b };
}

const dryRun = async (a: TestAgent, options: Record<string, unknown> = {}) => {
  const res = await a.api('POST', '/v1/migrations', {
    vm: 'v1',
    to: 'b',
    mode: 'live-shared',
    dryRun: true,
    options: { insecure: true, ...options },
  });
  expect(res.status, res.text).toBe(200);
  return Object.fromEntries((res.body.preflight as PreflightCheck[]).map((c) => [c.name, c]));
};

describe.skipIf(!qemu72 || !guest)(
  'pre-flight across QEMU versions (7.2 from scripts/qemu-7.2.sh and the installed QEMU)',
  () => {
    it('refuses a live migration from QEMU 7.2 under TCG with what was measured and the fix; --force passes it with the reason kept', async () => {
      const { a } = await pair(qemu72, undefined);
      const checks = await dryRun(a);
      expect(checks['qemu-known-bad']).toMatchObject({ ok: false });
      expect(checks['qemu-known-bad']!.detail).toMatch(
        /^a live migration from QEMU 7\.2\.\d+ under TCG loses guest memory written during the move: .*6 of 6 .*\(QEMU 10\.0\.2: 0 of 8; the source side loses the writes/,
      );
      expect(checks['qemu-known-bad']!.fix).toMatch(
        /upgrade QEMU on the source host.*--offline; --force runs it anyway/,
      );
      // A newer target is how hosts are upgraded one at a time; it runs the source's 7.2 machine type.
      expect(checks['qemu-version']).toMatchObject({ ok: true });
      expect(checks['qemu-version']!.detail).toMatch(/^QEMU 7\.2\.\d+ here, \S+ on `b` \(newer: fine/);
      expect(checks['machine-type']).toMatchObject({
        ok: true,
        detail:
          'machine `pc` runs as `pc-i440fx-7.2` here; the target runs it as `pc-i440fx-7.2`, which `b` has',
      });

      const refused = await a.api('POST', '/v1/migrations', {
        vm: 'v1',
        to: 'b',
        mode: 'live-shared',
        options: { insecure: true },
      });
      expectApiError(
        refused,
        422,
        'VMHOP_ERR_MIGRATION_PREFLIGHT',
        /qemu-known-bad: a live migration from QEMU 7\.2/,
      );
      expect((await a.api('GET', '/v1/jobs')).body).toEqual({ jobs: [] });

      const forced = await dryRun(a, { force: true });
      expect(forced['qemu-known-bad']).toMatchObject({ ok: true });
      expect(forced['qemu-known-bad']!.detail).toMatch(
        /^forced \(--force\): a live migration from QEMU 7\.2/,
      );
    });

    it('runs a forced live migration from QEMU 7.2 to the installed QEMU, and its report carries the warning', async () => {
      const { a, b } = await pair(qemu72, undefined);
      const res = await a.api('POST', '/v1/migrations', {
        vm: 'v1',
        to: 'b',
        mode: 'live-shared',
        options: { insecure: true, force: true },
      });
      expect(res.status, res.text).toBe(202);
      const job = await a.services.engine.wait(res.body.job.id as string);
      expect(job.state, JSON.stringify(job.report)).toBe('completed');
      expect(job.report?.warnings).toEqual([
        expect.stringMatching(
          /^run despite a known-bad combination \(--force\): a live migration from QEMU 7\.2/,
        ),
      ]);
      // The target defined the VM with the machine type it ran on the 7.2 source.
      expect(b.services.vms.get('v1').spec.machine).toBe('pc-i440fx-7.2');
    });

    it('does not refuse an offline move from QEMU 7.2 under TCG: no RAM moves while the guest writes', async () => {
      const { a } = await pair(qemu72, undefined);
      const res = await a.api('POST', '/v1/migrations', {
        vm: 'v1',
        to: 'b',
        mode: 'offline',
        dryRun: true,
        options: { keepState: true },
      });
      const names = (res.body.preflight as PreflightCheck[]).map((c) => c.name);
      expect(names).not.toContain('qemu-known-bad');
      expect(names).toContain('machine-type');
    });

    it('refuses a target with an older QEMU that lacks the machine type the VM runs, naming the newest it has', async () => {
      const { a } = await pair(undefined, qemu72);
      const checks = await dryRun(a);
      expect(checks['qemu-known-bad']).toBeUndefined();
      expect(checks['machine-type']).toMatchObject({ ok: false });
      expect(checks['machine-type']!.detail).toMatch(
        /^machine `pc` runs as `pc-i440fx-(\d+\.\d+)` here; .* which `b` lacks$/,
      );
      expect(checks['machine-type']!.fix).toMatch(/newest on `b`: pc-i440fx-7\.2/);
      expect(checks['qemu-version']).toMatchObject({ ok: false });
      expect(checks['qemu-version']!.detail).toMatch(/^`b` runs an older QEMU \(7\.2\.\d+\) than this host/);
    });

    it('allows an older target when the VM runs a machine type that target has', async () => {
      const { a } = await pair(undefined, qemu72, 'pc-i440fx-7.2');
      const checks = await dryRun(a);
      expect(checks['machine-type']).toMatchObject({
        ok: true,
        detail: 'machine `pc-i440fx-7.2` is available on `b`',
      });
      expect(checks['qemu-version']).toMatchObject({ ok: true });
      expect(checks['qemu-version']!.detail).toMatch(/allowed, it has machine `pc-i440fx-7\.2`/);
      expect(checks['qemu-options']).toMatchObject({ ok: true });
    });
  },
);
