// VM definitions and lifecycle on this host (virsh define/undefine/start/shutdown/destroy/
// suspend/resume/reboot/console). The spec is validated and its disks and bridges checked
// before anything is made; a start that fails part-way undoes what it made.
import { rmSync } from 'node:fs';
import { mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import { cont, quit, stop, systemPowerdown, systemReset } from '../../qmp/index.js';
import { VmhopError } from '../../protocol/errors.js';
import { VmSpec, type VmSpecInput } from '../../protocol/vm-spec.js';
import type { VmInfo } from '../../protocol/vm.js';
import type { VmRow, VmStore } from '../db/vm-store.js';
import type { EventBus } from '../events/bus.js';
import { hostMemory } from '../host/memory.js';
import { checkBootFiles, type PathPolicy } from '../host/path-policy.js';
import { killAndWait, isAlive } from '../process/signals.js';
import { spawnDetached } from '../process/qemu-process.js';
import { buildArgv, runFiles } from './argv.js';
import { checkBridges, createTaps, removeTaps } from './network.js';
import type { Supervisor } from './supervisor.js';
import { pollUntil } from '../poll-until.js';
import { ProgressTicker, type TickerOptions } from './progress-ticker.js';

export interface DiskResolver {
  /** Absolute path of a volume; throws VMHOP_ERR_POOL_NOT_FOUND / VOLUME_NOT_FOUND. */
  resolvePath(pool: string, volume: string): Promise<string>;
}

export interface VmServiceDeps {
  store: VmStore;
  events: EventBus;
  supervisor: Supervisor;
  disks: DiskResolver;
  runDir: string;
  dataDir: string;
  accel: () => Promise<'kvm' | 'tcg'>;
  log: Logger;
  /** Adds a second QMP monitor to every QEMU, for tests that sample run state. */
  observerMonitor?: boolean;
  /** Agent config `qemuBinary`. */
  qemuBinary?: string;
  /** Where kernels and initrds may come from (the agent's path policy); none given: anywhere. */
  paths?: PathPolicy;
  /**
   * Throws when the VM's last migration has an unknown outcome (the target may run it): what
   * would run it here (start, resume, restore) waits for that to be settled.
   */
  refuseIfUnresolved?: (vm: string, action: string) => void;
  /**
   * Throws when the VM is the source of a running migration at its commit or in post-copy: its
   * QEMU then holds what the target still needs (the paused state, or the pages not yet fetched),
   * so destroying it could leave the VM nowhere.
   */
  refuseIfSwitchingOver?: (vm: string, action: string) => void;
  /** Cluster mode: a define claims the VM's owner key in etcd (refused when another host owns it). */
  claim?: (spec: VmSpec) => Promise<void>;
  /** Cluster mode: before a VM runs here, etcd must name this host its owner. */
  mayRun?: (spec: VmSpec, action: string) => Promise<void>;
  /** Cluster mode: an undefined VM's owner key goes. */
  released?: (uuid: string) => Promise<void>;
}

export const MIB = 1024 * 1024;

export function parseSpec(input: unknown): VmSpec {
  try {
    return VmSpec.parse(input);
  } catch (e) {
    if (e instanceof ZodError) {
      const issues = e.issues.map((i) => `${i.path.join('.') || '(spec)'}: ${i.message}`);
      throw new VmhopError('VMHOP_ERR_VM_SPEC_INVALID', `invalid VM definition: ${issues.join('; ')}`, {
        issues,
      });
    }
    throw e;
  }
}

export class VmService {
  constructor(private readonly d: VmServiceDeps) {}

  runDirOf(vm: string): string {
    return `${this.d.runDir}/vms/${vm}`;
  }

  list(): VmInfo[] {
    return this.d.store.list().map(toInfo);
  }

  get(name: string): VmRow {
    const row = this.d.store.get(name);
    if (!row) {
      const names = this.d.store.list().map((r) => r.name);
      throw new VmhopError(
        'VMHOP_ERR_VM_NOT_FOUND',
        `VM \`${name}\` not found on this host; VMs here: ${names.length ? names.map((n) => `\`${n}\``).join(', ') : '(none)'}`,
        { vm: name, vms: names },
      );
    }
    return row;
  }

  async define(input: VmSpecInput | unknown): Promise<VmInfo> {
    const spec = parseSpec(input);
    if (this.d.store.get(spec.name)) {
      throw new VmhopError(
        'VMHOP_ERR_VM_EXISTS',
        `a VM named \`${spec.name}\` already exists here: pick another name or undefine it first`,
        { vm: spec.name },
      );
    }
    const same = this.d.store.byUuid(spec.uuid);
    if (same) {
      throw new VmhopError(
        'VMHOP_ERR_VM_EXISTS',
        `uuid ${spec.uuid} already belongs to VM \`${same.name}\`: omit the uuid to get a new one`,
        { uuid: spec.uuid, vm: same.name },
      );
    }
    const total = hostMemory().totalBytes;
    if (spec.memoryMiB * MIB > total) {
      throw new VmhopError(
        'VMHOP_ERR_HOST_INSUFFICIENT_MEMORY',
        `VM \`${spec.name}\` asks for ${spec.memoryMiB} MiB but this host has only ${Math.floor(total / MIB)} MiB in all: lower memoryMiB`,
        { vm: spec.name, memoryMiB: spec.memoryMiB, hostTotalMiB: Math.floor(total / MIB) },
      );
    }
    for (const disk of spec.disks) await this.d.disks.resolvePath(disk.pool, disk.volume);
    if (this.d.paths) await checkBootFiles(this.d.paths, spec);
    await this.d.claim?.(spec);
    const row = this.d.store.insert(spec);
    this.d.events.publish({ type: 'vm.defined', vm: spec.name });
    return toInfo(row);
  }

  undefine(name: string): void {
    const row = this.get(name);
    if (row.state === 'running' || row.state === 'paused') {
      throw new VmhopError(
        'VMHOP_ERR_VM_STATE',
        `VM \`${name}\` is ${row.state}: shut it down or destroy it before undefining`,
        { vm: name, state: row.state },
      );
    }
    this.d.store.delete(name);
    void this.d.released?.(row.spec.uuid);
    // A saved state belongs to this VM only: a later VM of the same name must not inherit it.
    for (const ext of ['vmstate', 'json']) rmSync(`${this.d.dataDir}/save/${name}.${ext}`, { force: true });
    this.d.events.publish({ type: 'vm.undefined', vm: name });
  }

  /** The drain order of a VM (issue 17 §1): kept in its spec, so it moves with the VM. */
  setPriority(name: string, priority: number): VmInfo {
    const row = this.get(name);
    if (row.owner !== 'local') {
      throw new VmhopError(
        'VMHOP_ERR_VM_STATE',
        `VM \`${name}\` moved to host \`${row.owner.replace(/^moved:/, '')}\`: set its priority there`,
        { vm: name, owner: row.owner },
      );
    }
    this.d.store.update(name, { spec: { ...row.spec, priority } });
    return toInfo(this.get(name));
  }

  /** See VmServiceDeps.refuseIfUnresolved. */
  refuseIfUnresolved(name: string, action: string): void {
    this.d.refuseIfUnresolved?.(name, action);
  }

  /** See VmServiceDeps.mayRun. */
  async assertMayRun(row: VmRow, action: string): Promise<void> {
    await this.d.mayRun?.(row.spec, action);
  }

  async start(name: string, opts: { paused?: boolean; force?: boolean } = {}): Promise<VmInfo> {
    const row = this.get(name);
    this.refuseIfUnresolved(name, 'start');
    await this.assertMayRun(row, 'start');
    if (row.state === 'running' || row.state === 'paused') {
      throw new VmhopError('VMHOP_ERR_VM_STATE', `VM \`${name}\` is already ${row.state}`, {
        vm: name,
        state: row.state,
      });
    }
    if (row.owner !== 'local' && !opts.force) {
      throw new VmhopError(
        'VMHOP_ERR_VM_STATE',
        `VM \`${name}\` moved to host \`${row.owner.replace(/^moved:/, '')}\`, which owns it now; starting it here too would run it twice (--force overrides)`,
        { vm: name, owner: row.owner },
      );
    }
    const avail = hostMemory().availableBytes;
    if (row.spec.memoryMiB * MIB > avail) {
      throw new VmhopError(
        'VMHOP_ERR_HOST_INSUFFICIENT_MEMORY',
        `VM \`${name}\` needs ${row.spec.memoryMiB} MiB but only ${Math.floor(avail / MIB)} MiB are available on this host now`,
        { vm: name, memoryMiB: row.spec.memoryMiB, availableMiB: Math.floor(avail / MIB) },
      );
    }
    await this.launch(row, { paused: opts.paused === true, incoming: false });
    return toInfo(this.get(name));
  }

  /** Starts QEMU for `row` (also paused, or waiting for an incoming migration); undoes itself on failure. */
  async launch(row: VmRow, mode: { paused: boolean; incoming: boolean }): Promise<number> {
    const diskPaths: Record<string, string> = {};
    for (const disk of row.spec.disks)
      diskPaths[disk.target] = await this.d.disks.resolvePath(disk.pool, disk.volume);
    // Again at each start: a spec may have come by migration, or been defined before the policy.
    if (this.d.paths) await checkBootFiles(this.d.paths, row.spec);
    await checkBridges(row.spec);
    const runDir = this.runDirOf(row.name);
    const files = runFiles(runDir);
    await mkdir(runDir, { recursive: true, mode: 0o700 });
    // Stale sockets and pidfiles of an earlier run go; the serial log is kept (QEMU appends).
    for (const f of [files.qmp, files.observer, files.pidfile]) await rm(f, { force: true });
    // Where this run's output will begin, so `console?run=current` can leave out earlier runs
    // (a guest that oopsed on this host before must not fail the check of a later move here).
    await writeFile(files.serialStart, `${await fileSize(files.serialLog)}\n`);
    const taps = await createTaps(row.spec);
    let pid = 0;
    try {
      const argv = buildArgv(row.spec, {
        accel: await this.d.accel(),
        qemuBinary: this.d.qemuBinary,
        diskPaths,
        taps,
        runDir,
        paused: mode.paused,
        incoming: mode.incoming,
        observerMonitor: this.d.observerMonitor === true,
      });
      pid = await spawnDetached(argv, files.pidfile, row.name);
      await this.d.supervisor.attach(row, pid);
      return pid;
    } catch (e) {
      if (pid) await killAndWait(pid);
      await removeTaps(taps);
      this.d.store.update(row.name, { state: 'shutoff', pid: null });
      throw e;
    }
  }

  private attachedQmp(name: string) {
    const row = this.get(name);
    const qmp = this.d.supervisor.qmpOf(name);
    if (!qmp || (row.state !== 'running' && row.state !== 'paused')) {
      throw new VmhopError(
        'VMHOP_ERR_VM_STATE',
        `VM \`${name}\` is not running (state ${row.state}): start it first`,
        { vm: name, state: row.state },
      );
    }
    return { row, qmp };
  }

  async suspend(name: string): Promise<VmInfo> {
    await stop(this.attachedQmp(name).qmp);
    this.d.supervisor.setState(name, 'paused');
    return toInfo(this.get(name));
  }

  async resume(name: string): Promise<VmInfo> {
    const { row, qmp } = this.attachedQmp(name);
    this.refuseIfUnresolved(name, 'resume');
    if (row.owner === 'local') await this.assertMayRun(row, 'resume');
    // A source paused after its commit, until its retirement ends it: the guest runs elsewhere.
    if (row.owner !== 'local') {
      throw new VmhopError(
        'VMHOP_ERR_VM_STATE',
        `VM \`${name}\` moved to host \`${row.owner.replace(/^moved:/, '')}\`, which runs it now; resuming this paused copy would run it twice`,
        { vm: name, owner: row.owner },
      );
    }
    await cont(qmp);
    this.d.supervisor.setState(name, 'running');
    return toInfo(this.get(name));
  }

  async reboot(name: string): Promise<VmInfo> {
    await systemReset(this.attachedQmp(name).qmp);
    return toInfo(this.get(name));
  }

  /** A long action's progress on the event stream (`vm.progress`), started; stop() it at the end. */
  progress(o: Omit<TickerOptions, 'events'>): ProgressTicker {
    return new ProgressTicker({ ...o, events: this.d.events }).start();
  }

  /**
   * ACPI power button, then wait for QEMU to exit; a guest that ignores it times out, and keeps
   * running. The wait's progress (ms waited of the timeout) goes out as `vm.progress`.
   */
  async shutdown(name: string, timeoutMs = 60_000, progressId?: string): Promise<VmInfo> {
    const { row, qmp } = this.attachedQmp(name);
    this.d.supervisor.expectExit(name);
    await systemPowerdown(qmp);
    const startedAt = Date.now();
    const ticker = this.progress({
      vm: name,
      operation: 'shutdown',
      unit: 'ms',
      ...(progressId ? { progressId } : {}),
      note: `waiting for the guest to power off; at ${Math.round(timeoutMs / 1000)} s the request fails and the VM keeps running (\`vmhop destroy ${name}\` forces it off)`,
      sample: () => ({ done: Math.min(Date.now() - startedAt, timeoutMs), total: timeoutMs }),
    });
    let gone: boolean;
    try {
      gone = await waitGone(row.pid ?? 0, timeoutMs);
    } finally {
      ticker.stop();
    }
    if (!gone) {
      throw new VmhopError(
        'VMHOP_ERR_TIMEOUT',
        `VM \`${name}\` did not power off within ${Math.round(timeoutMs / 1000)} s of the ACPI request: use \`vmhop destroy ${name}\` to force it off`,
        { vm: name, timeoutMs },
      );
    }
    await this.settle(name);
    return toInfo(this.get(name));
  }

  /** Immediate power-off: QMP quit, and SIGKILL if QEMU does not go. */
  async destroy(name: string, opts: { force?: boolean } = {}): Promise<VmInfo> {
    if (!opts.force) this.d.refuseIfSwitchingOver?.(name, 'destroy');
    const { row, qmp } = this.attachedQmp(name);
    this.d.supervisor.expectExit(name);
    await quit(qmp).catch(() => undefined);
    if (!(await waitGone(row.pid ?? 0, 10_000))) await killAndWait(row.pid ?? 0, 0);
    await this.settle(name);
    return toInfo(this.get(name));
  }

  /** Waits (bounded, 10 s) until the supervisor has recorded the exit. */
  async settle(name: string): Promise<void> {
    await pollUntil(
      () => {
        const st = this.d.store.get(name)?.state;
        return st !== 'running' && st !== 'paused' ? true : undefined;
      },
      { intervalMs: 50, deadlineMs: 10_000 },
    );
  }

  /**
   * The tail (at most `maxBytes`) of the VM's serial log on this host: of every run here, or
   * with `run: 'current'` only what the QEMU started last wrote (for a VM that migrated in:
   * everything since it resumed here).
   */
  async consoleLog(name: string, maxBytes = 64 * 1024, run: 'all' | 'current' = 'all'): Promise<string> {
    this.get(name);
    const files = runFiles(this.runDirOf(name));
    const file = files.serialLog;
    try {
      const size = (await stat(file)).size;
      const from = run === 'current' ? await runStart(files.serialStart, size) : 0;
      const fh = await open(file, 'r');
      try {
        const len = Math.min(size - from, maxBytes);
        const buf = Buffer.alloc(len);
        await fh.read(buf, 0, len, size - len);
        return buf.toString('utf8');
      } finally {
        await fh.close();
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw e;
    }
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
}

/** The offset the current run began at; 0 if unknown (a VM started by an older agent), and
 * never past the end (the log was truncated by hand). */
async function runStart(startFile: string, logSize: number): Promise<number> {
  try {
    const n = Number((await readFile(startFile, 'utf8')).trim());
    return Number.isInteger(n) && n >= 0 && n <= logSize ? n : 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const gone = await pollUntil(() => (!pid || !isAlive(pid) ? true : undefined), {
    intervalMs: 100,
    deadlineMs: timeoutMs,
  });
  return gone ?? false;
}

export function toInfo(row: VmRow): VmInfo {
  return { name: row.name, uuid: row.uuid, state: row.state, pid: row.pid, owner: row.owner, spec: row.spec };
}
