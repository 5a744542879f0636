// Keeps one QMP session per running VM and turns what QEMU says into registry state:
// STOP/RESUME -> paused/running, a clean SHUTDOWN or an asked-for exit -> shutoff, a
// QMP socket that closes without either -> crashed. Reattaches after an agent restart.
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { QmpSession, queryStatus } from '../../qmp/index.js';
import type { VmState } from '../../protocol/vm.js';
import type { VmStore, VmRow } from '../db/vm-store.js';
import type { EventBus } from '../events/bus.js';
import { isAlive } from '../process/signals.js';
import { isQemuOf } from '../process/qemu-process.js';
import { runFiles } from './argv.js';
import { removeTaps, tapsOf } from './network.js';
import { pollUntil } from '../poll-until.js';

interface Attached {
  qmp: QmpSession;
  pid: number;
  /** Set before the agent itself ends QEMU (shutdown, destroy, save, migration). */
  exitExpected: boolean;
  guestShutdown: boolean;
  /** QEMU said SHUTDOWN with `guest: false`: a signal or quit from the host, not vmhop's. */
  hostShutdown: boolean;
}

export class Supervisor {
  private readonly attached = new Map<string, Attached>();

  constructor(
    private readonly store: VmStore,
    private readonly events: EventBus,
    private readonly runDirOf: (vm: string) => string,
    private readonly log: Logger,
  ) {}

  qmpOf(vm: string): QmpSession | undefined {
    return this.attached.get(vm)?.qmp;
  }

  expectExit(vm: string): void {
    const a = this.attached.get(vm);
    if (a) a.exitExpected = true;
  }

  setState(vm: string, state: VmState, reason?: string): void {
    const row = this.store.get(vm);
    if (!row || row.state === state) return;
    this.store.update(vm, { state, ...(state === 'shutoff' || state === 'crashed' ? { pid: null } : {}) });
    this.events.publish({ type: 'vm.state', vm, state, ...(reason ? { reason } : {}) });
  }

  async attach(row: VmRow, pid: number): Promise<void> {
    const qmp = await QmpSession.connect(runFiles(this.runDirOf(row.name)).qmp, {
      timeoutMs: 15_000,
      oob: true, // post-copy recovery must reach a target whose main loop waits for a page
    });
    const entry: Attached = { qmp, pid, exitExpected: false, guestShutdown: false, hostShutdown: false };
    this.attached.set(row.name, entry);
    const status = await queryStatus(qmp);
    this.store.update(row.name, { pid });
    this.setState(row.name, status.running ? 'running' : 'paused');
    void this.follow(row.name, entry);
  }

  private async follow(vm: string, entry: Attached): Promise<void> {
    const stream = entry.qmp.events(['STOP', 'RESUME', 'SHUTDOWN']);
    try {
      for await (const ev of stream) {
        if (ev.event === 'STOP') this.setState(vm, 'paused');
        else if (ev.event === 'RESUME') this.setState(vm, 'running');
        // `guest` false is the host's doing (a signal, a quit): not the guest powering off.
        else if (ev.event === 'SHUTDOWN') {
          if ((ev.data as { guest?: boolean } | undefined)?.guest === false) entry.hostShutdown = true;
          else entry.guestShutdown = true;
        }
      }
    } catch {
      // the stream ends with the connection; closed below decides what that meant
    }
    await entry.qmp.closed;
    await this.exited(vm, entry);
  }

  private async exited(vm: string, entry: Attached): Promise<void> {
    if (this.attached.get(vm) !== entry) return;
    this.attached.delete(vm);
    await pollUntil(() => (isAlive(entry.pid) ? undefined : true), { intervalMs: 100, deadlineMs: 5_000 });
    const row = this.store.get(vm);
    if (row) await removeTaps(tapsOf(row.spec));
    if (entry.exitExpected || entry.guestShutdown)
      this.setState(vm, 'shutoff', entry.guestShutdown ? 'guest powered off' : undefined);
    else if (entry.hostShutdown) this.setState(vm, 'shutoff', 'QEMU was ended by a signal on the host');
    else {
      this.log.warn({ vm, pid: entry.pid }, 'QEMU exited without being asked');
      this.setState(vm, 'crashed', 'QEMU exited without being asked');
    }
  }

  /** After an agent restart: pick up every QEMU that still runs, mark the others crashed. */
  async reattachAll(): Promise<void> {
    for (const row of this.store.list()) {
      if (row.state !== 'running' && row.state !== 'paused') continue;
      const pid = row.pid ?? 0;
      if (pid > 0 && (await isQemuOf(pid, row.uuid)) && existsSync(runFiles(this.runDirOf(row.name)).qmp)) {
        try {
          await this.attach(row, pid);
          this.log.info({ vm: row.name, pid }, 'reattached to running QEMU');
          continue;
        } catch (e) {
          this.log.error({ vm: row.name, err: e }, 'cannot reattach');
        }
      }
      this.setState(row.name, 'crashed', 'QEMU was gone when the agent started');
    }
  }

  /** Lets go of every QMP session without touching the VMs: they outlive the agent. */
  async detachAll(): Promise<void> {
    const all = [...this.attached.values()];
    this.attached.clear();
    for (const a of all) await a.qmp.close();
  }
}
