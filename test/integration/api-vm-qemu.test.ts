// The lifecycle routes against real QEMU (TCG) booting the test guest's kernel: start,
// suspend, resume, destroy, save and restore through inject(), with the registry state and
// the QEMU process checked after each. Every QEMU started is killed in afterEach.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { truncate } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectApiError, quoted } from './helpers/api-expect.js';
import { TestAgent } from './helpers/test-agent.js';
import { kernelVm, testGuest } from './helpers/vm-specs.js';

const guest = testGuest();
const skipReason =
  'the test guest is not built: run scripts/build-guest.sh (needs .cache/guest/current/vmlinuz and initrd.img)';

/** Alive and not a zombie: a reaped or defunct QEMU counts as gone. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

describe.skipIf(!guest)(
  `VM lifecycle through the API with real QEMU${guest ? '' : ` (skipped: ${skipReason})`}`,
  () => {
    let agent: TestAgent;
    beforeEach(async () => {
      agent = await TestAgent.start();
      await agent.createVolume('root.qcow2', 64 * 1024 ** 2);
      const spec = kernelVm('g1', {
        memoryMiB: 128,
        machine: 'pc',
        boot: {
          kind: 'kernel',
          kernel: guest!.kernel,
          initrd: guest!.initrd,
          cmdline: 'console=ttyS0 quiet',
        },
        disks: [{ target: 'vda', pool: 'default', volume: 'root.qcow2' }],
        nics: [],
      });
      expect((await agent.api('POST', '/v1/vms', { spec })).status).toBe(201);
    });
    afterEach(async () => {
      const pids = agent.qemuPids();
      await agent.close();
      for (const pid of pids) expect(running(pid), `QEMU ${pid} outlived the test`).toBe(false);
    });

    const act = (action: string) => agent.api('POST', `/v1/vms/g1/${action}`, {});

    it('tells a QEMU ended by a signal on the host (shutoff) from one that died (crashed); neither is a guest power-off', async () => {
      const events: { state: string; reason?: string }[] = [];
      const off = agent.services.events.subscribe((e) => {
        if (e.type === 'vm.state') events.push({ state: e.state, ...(e.reason ? { reason: e.reason } : {}) });
      });
      try {
        for (const [signal, state, reason] of [
          ['SIGTERM', 'shutoff', 'QEMU was ended by a signal on the host'],
          ['SIGKILL', 'crashed', 'QEMU exited without being asked'],
        ] as const) {
          const pid = (await act('start')).body.pid as number;
          process.kill(pid, signal);
          for (let i = 0; i < 100 && agent.services.vmStore.get('g1')?.state !== state; i++)
            await new Promise((r) => setTimeout(r, 50));
          expect(agent.services.vmStore.get('g1')?.state, signal).toBe(state);
          expect(events.at(-1), signal).toEqual({ state, reason });
        }
      } finally {
        off();
      }
    });

    it('starts, suspends, resumes and destroys: running with a pid, paused, running, shutoff with QEMU gone', async () => {
      const started = await act('start');
      expect(started.status, started.text).toBe(200);
      expect(started.body).toMatchObject({ name: 'g1', state: 'running' });
      const pid = started.body.pid as number;
      expect(pid).toBeGreaterThan(1);
      expect(running(pid)).toBe(true);
      expect(agent.isOurQemu(pid)).toBe(true);
      expect((await agent.api('GET', '/v1/vms/g1')).body).toMatchObject({
        state: 'running',
        pid,
        qemuStatus: 'running',
      });

      expect((await act('suspend')).body).toMatchObject({ state: 'paused', pid });
      expect((await agent.api('GET', '/v1/vms/g1')).body).toMatchObject({
        state: 'paused',
        qemuStatus: 'paused',
      });

      expect((await act('resume')).body).toMatchObject({ state: 'running', pid });
      expect((await agent.api('GET', '/v1/vms/g1')).body.qemuStatus).toBe('running');

      const destroyed = await act('destroy');
      expect(destroyed.status, destroyed.text).toBe(200);
      expect(destroyed.body).toMatchObject({ state: 'shutoff', pid: null });
      expect(running(pid)).toBe(false);
      expect(agent.qemuPids()).toEqual([]);
    });

    it('refuses what a running VM cannot do: a second start, undefine, deleting its disk', async () => {
      const started = await act('start');
      expect(started.status, started.text).toBe(200);
      expectApiError(await act('start'), 409, 'VMHOP_ERR_VM_STATE', quoted('g1'), /already running/);
      expectApiError(
        await agent.api('DELETE', '/v1/vms/g1'),
        409,
        'VMHOP_ERR_VM_STATE',
        quoted('g1'),
        /running/,
      );
      expectApiError(
        await agent.api('DELETE', '/v1/pools/default/volumes/root.qcow2'),
        409,
        'VMHOP_ERR_VOLUME_IN_USE',
        quoted('g1'),
      );
      expect((await agent.api('GET', '/v1/vms/g1')).body).toMatchObject({
        state: 'running',
        pid: started.body.pid,
      });
      expect(agent.qemuPids()).toEqual([started.body.pid]);
    });

    it('saves a running VM to a state file (shutoff, QEMU gone) and restores it to running', async () => {
      const started = await act('start');
      expect(started.status, started.text).toBe(200);
      const firstPid = started.body.pid as number;

      const saved = await act('save');
      expect(saved.status, saved.text).toBe(200);
      expect(saved.body).toMatchObject({ state: 'shutoff', pid: null });
      expect(saved.body.savedBytes).toBeGreaterThan(0);
      const stateFile = `${agent.dataDir}/save/g1.vmstate`;
      expect(existsSync(stateFile)).toBe(true);
      expect(existsSync(`${stateFile}.partial`)).toBe(false);
      expect(running(firstPid)).toBe(false);
      expect((await agent.api('GET', '/v1/vms/g1')).body).toMatchObject({
        state: 'shutoff',
        savedState: true,
      });

      const restored = await act('restore');
      expect(restored.status, restored.text).toBe(200);
      expect(restored.body).toMatchObject({ state: 'running' });
      const pid = restored.body.pid as number;
      expect(running(pid)).toBe(true);
      expect((await agent.api('GET', '/v1/vms/g1')).body).toMatchObject({
        state: 'running',
        qemuStatus: 'running',
        savedState: false,
      });
      // A state is restored once: the disks have moved on since.
      expect(existsSync(stateFile)).toBe(false);

      expect((await act('destroy')).body).toMatchObject({ state: 'shutoff' });
      expect(running(pid)).toBe(false);
    });

    it('saves a paused VM and restores it paused', async () => {
      expect((await act('start')).status).toBe(200);
      expect((await act('suspend')).body.state).toBe('paused');
      expect((await act('save')).body).toMatchObject({ state: 'shutoff' });
      const restored = await act('restore');
      expect(restored.status, restored.text).toBe(200);
      expect(restored.body).toMatchObject({ state: 'paused' });
      expect((await agent.api('GET', '/v1/vms/g1')).body.qemuStatus).toBe('paused');
      expect((await act('resume')).body.state).toBe('running');
    });

    it('refuses a damaged state file with QEMU’s reason, kills the QEMU it started and keeps the file', async () => {
      expect((await act('start')).status).toBe(200);
      expect((await act('save')).status).toBe(200);
      const stateFile = `${agent.dataDir}/save/g1.vmstate`;
      await truncate(stateFile, Math.floor(statSync(stateFile).size / 2));
      const restored = await act('restore');
      expect(restored.status, restored.text).not.toBe(200);
      expect(restored.body.error.message).toMatch(/restoring VM `g1` failed/);
      expect(restored.body.error.message).not.toMatch(/Premature close/);
      expect(agent.qemuPids()).toEqual([]);
      expect(existsSync(stateFile)).toBe(true);
      expect((await agent.api('GET', '/v1/vms/g1')).body).toMatchObject({
        state: 'shutoff',
        savedState: true,
      });
    });

    it('gives the console of the current run apart from the earlier runs on this host (run=current)', async () => {
      const readyLines = async (run: string) =>
        ((await agent.api('GET', `/v1/vms/g1/console?run=${run}`)).text.match(/^vmhop-guest ready .*$/gm) ??
          []) as string[];
      /** Polls (bounded, 60 s) until the current run's console shows the guest's ready line. */
      const bootedOnce = async () => {
        for (const until = Date.now() + 60_000; Date.now() < until;) {
          const lines = await readyLines('current');
          if (lines.length) return lines;
          await new Promise((r) => setTimeout(r, 250));
        }
        throw new Error('no ready line on the console within 60 s');
      };
      expect((await act('start')).status).toBe(200);
      const first = await bootedOnce();
      expect((await act('destroy')).status).toBe(200);
      expect((await act('start')).status).toBe(200);
      const second = await bootedOnce();
      expect(second).toHaveLength(1);
      expect(second[0]).not.toBe(first[0]); // another boot id
      expect(await readyLines('all')).toEqual([...first, ...second]);
    }, 150_000);

    it('forgets the saved state when the VM is undefined, so a new VM of that name starts clean', async () => {
      expect((await act('start')).status).toBe(200);
      expect((await act('save')).status).toBe(200);
      expect((await agent.api('DELETE', '/v1/vms/g1')).status).toBe(200);
      expect(existsSync(`${agent.dataDir}/save/g1.vmstate`)).toBe(false);
    });
  },
);
