// virsh save / restore: a VM's RAM and device state to a file and back, with no reboot, their
// progress published as `vm.progress` events while the request runs.
// QEMU 7.2 has no file: migration URI and Node cannot pass fds over QMP, so QEMU
// migrates into a unix socket the agent serves and the agent writes the file; restore
// is `-incoming defer` + migrate-incoming on a unix socket that the agent feeds.
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { pipeline } from 'node:stream/promises';
import {
  cont,
  isQmpError,
  migrate,
  migrateIncoming,
  migrateSetParameters,
  quit,
  stop,
  type MigrationInfo,
} from '../../qmp/index.js';
import { VmhopError } from '../../protocol/errors.js';
import type { VmInfo } from '../../protocol/vm.js';
import { killAndWait } from '../process/signals.js';
import { waitMigrationEnd } from './migration-wait.js';
import { MIB, toInfo, type VmService } from './service.js';
import type { Supervisor } from './supervisor.js';

interface Sidecar {
  name: string;
  uuid: string;
  running: boolean;
  savedAt: string;
  bytes: number;
}

export const saveFiles = (dataDir: string, vm: string) => ({
  state: `${dataDir}/save/${vm}.vmstate`,
  sidecar: `${dataDir}/save/${vm}.json`,
});

const SAVE_TIMEOUT_MS = 10 * 60_000;

export class SaveRestore {
  constructor(
    private readonly vms: VmService,
    private readonly supervisor: Supervisor,
    private readonly dataDir: string,
  ) {}

  hasSavedState(vm: string): boolean {
    return existsSync(saveFiles(this.dataDir, vm).state);
  }

  /** `progressId`: the client's id for this save's `vm.progress` events (RAM written of the guest's RAM). */
  async save(name: string, progressId?: string): Promise<VmInfo & { savedBytes: number }> {
    const row = this.vms.get(name);
    const qmp = this.supervisor.qmpOf(name);
    if (!qmp || (row.state !== 'running' && row.state !== 'paused')) {
      throw new VmhopError(
        'VMHOP_ERR_VM_STATE',
        `VM \`${name}\` is ${row.state}: only a running or paused VM can be saved`,
        { vm: name },
      );
    }
    const files = saveFiles(this.dataDir, name);
    await mkdir(`${this.dataDir}/save`, { recursive: true, mode: 0o700 });
    const tmp = `${files.state}.partial`;
    const sock = `${this.vms.runDirOf(name)}/save.sock`;
    const wasRunning = row.state === 'running';
    const server = net.createServer();
    const received = new Promise<void>((resolve, reject) => {
      server.once('connection', (c) =>
        pipeline(c, createWriteStream(tmp, { mode: 0o600 })).then(resolve, reject),
      );
    });
    received.catch(() => undefined);
    await rm(sock, { force: true });
    await new Promise<void>((res, rej) => server.listen(sock, res).once('error', rej));
    try {
      // Pause first: the state is then one consistent instant and nothing is dirtied while it streams.
      if (wasRunning) await stop(qmp);
      await migrateSetParameters(qmp, { 'max-bandwidth': 0x7fff_ffff_ffff });
      await migrate(qmp, { uri: `unix:${sock}` });
      // RAM already in the file, from QEMU's own count (query-migrate, sampled by the wait).
      let ram = { done: 0, total: row.spec.memoryMiB * MIB };
      const ticker = this.vms.progress({
        vm: name,
        operation: 'save',
        unit: 'bytes',
        ...(progressId ? { progressId } : {}),
        note: `RAM and device state to ${files.state}; the VM stops once it is written`,
        sample: () => ram,
      });
      try {
        await waitMigrationEnd(qmp, {
          timeoutMs: SAVE_TIMEOUT_MS,
          what: `saving VM \`${name}\``,
          onSample: (i) => (ram = ramWritten(i, ram)),
        });
        await received;
      } finally {
        ticker.stop();
      }
      const bytes = (await stat(tmp)).size;
      const sidecar: Sidecar = {
        name,
        uuid: row.uuid,
        running: wasRunning,
        savedAt: new Date().toISOString(),
        bytes,
      };
      await writeFile(files.sidecar, JSON.stringify(sidecar, null, 2), { mode: 0o600 });
      await rename(tmp, files.state);
      this.supervisor.expectExit(name);
      await quit(qmp).catch(() => undefined);
      if (row.pid) await killAndWait(row.pid, 10_000);
      await this.vms.settle(name);
      return { ...toInfo(this.vms.get(name)), savedBytes: bytes };
    } catch (e) {
      await rm(tmp, { force: true });
      if (wasRunning && this.supervisor.qmpOf(name)) await cont(qmp).catch(() => undefined);
      throw e;
    } finally {
      server.close();
      await rm(sock, { force: true });
    }
  }

  /** `progressId`: the client's id for this restore's `vm.progress` events (bytes of the state file read). */
  async restore(name: string, progressId?: string): Promise<VmInfo> {
    const row = this.vms.get(name);
    this.vms.refuseIfUnresolved(name, 'restore');
    await this.vms.assertMayRun(row, 'restore');
    if (row.state === 'running' || row.state === 'paused') {
      throw new VmhopError(
        'VMHOP_ERR_VM_STATE',
        `VM \`${name}\` is already ${row.state}: nothing to restore into`,
        { vm: name },
      );
    }
    const files = saveFiles(this.dataDir, name);
    if (!existsSync(files.state)) {
      throw new VmhopError(
        'VMHOP_ERR_VM_STATE',
        `VM \`${name}\` has no saved state (${files.state}): use \`vmhop start ${name}\``,
        { vm: name },
      );
    }
    const sidecar = JSON.parse(await readFile(files.sidecar, 'utf8')) as Sidecar;
    if (sidecar.uuid !== row.uuid) {
      throw new VmhopError(
        'VMHOP_ERR_VM_STATE',
        `saved state ${files.state} belongs to uuid ${sidecar.uuid}, not VM \`${name}\` (${row.uuid})`,
        { vm: name },
      );
    }
    const pid = await this.vms.launch(row, { paused: true, incoming: true });
    const qmp = this.supervisor.qmpOf(name);
    try {
      if (!qmp)
        throw new VmhopError(
          'VMHOP_ERR_QEMU_START_FAILED',
          `QEMU for \`${name}\` started but its QMP is gone`,
          { vm: name },
        );
      const sock = `${this.vms.runDirOf(name)}/restore.sock`;
      await migrateIncoming(qmp, { uri: `unix:${sock}` });
      const conn = net.connect(sock);
      await new Promise<void>((res, rej) => conn.once('connect', res).once('error', rej));
      // QEMU closes its end as soon as it has read the last section, which can come before this
      // side's own 'finish' ("Premature close"): QEMU's status, not the stream's end, says whether
      // the state loaded, and a failed load is reported with QEMU's reason.
      conn.on('error', () => undefined);
      const source = createReadStream(files.state);
      const size = (await stat(files.state)).size;
      const ticker = this.vms.progress({
        vm: name,
        operation: 'restore',
        unit: 'bytes',
        ...(progressId ? { progressId } : {}),
        note: `from ${files.state}; the VM continues where it was saved`,
        sample: () => ({ done: source.bytesRead, total: size }),
      });
      try {
        const sent = pipeline(source, conn).then(
          () => undefined,
          (e: unknown) => e as Error,
        );
        await waitMigrationEnd(qmp, { timeoutMs: SAVE_TIMEOUT_MS, what: `restoring VM \`${name}\`` });
        await sent;
      } finally {
        ticker.stop();
      }
      conn.destroy();
      if (sidecar.running) await cont(qmp);
      this.supervisor.setState(name, sidecar.running ? 'running' : 'paused');
      // The state belongs to disks that have moved on since: restoring it twice would corrupt them.
      await rm(files.state, { force: true });
      await rm(files.sidecar, { force: true });
      return toInfo(this.vms.get(name));
    } catch (e) {
      this.supervisor.expectExit(name);
      await killAndWait(pid, 5_000);
      await this.vms.settle(name);
      // The guest never ran from the state: it is as it was before the restore, not crashed.
      this.supervisor.setState(name, 'shutoff', 'the restore failed');
      // QEMU exits when it cannot load an incoming state: its closed monitor is the only answer.
      if (isQmpError(e, 'QMP_DISCONNECTED') || (e instanceof Error && /QEMU closed/.test(e.message))) {
        throw new VmhopError(
          'VMHOP_ERR_VM_STATE',
          `restoring VM \`${name}\` failed: QEMU exited while loading ${files.state} (a damaged file, or one saved by another QEMU or machine type); the file is kept. \`vmhop start ${name}\` boots the VM without it`,
          { vm: name, state: files.state },
          e,
        );
      }
      throw e;
    }
  }
}

/** Guest RAM already written (total less what remains), as QEMU counts it; the last known until QEMU says. */
function ramWritten(
  i: MigrationInfo,
  last: { done: number; total: number },
): { done: number; total: number } {
  const ram = i.ram;
  if (i.status === 'completed') return { done: ram?.total ?? last.total, total: ram?.total ?? last.total };
  if (!ram?.total) return last;
  return { done: Math.max(0, ram.total - ram.remaining), total: ram.total };
}
