// Gauges read at scrape time from the agent's own records: VMs by state, migration jobs
// running, the running jobs' data processed and remaining (from their latest progress, as
// KubeVirt's kubevirt_vmi_migration_data_*_bytes), and each pool's capacity and free space.
// Nothing is cached between scrapes, so a value is never older than the scrape.
import { Gauge, type Registry } from 'prom-client';
import { VmState } from '../../protocol/vm.js';
import type { AgentServices } from '../services.js';

type Sources = Pick<AgentServices, 'vms' | 'jobStore' | 'engine' | 'storage'>;

export function stateGauges(register: Registry, s: Sources): void {
  new Gauge({
    name: 'vmhop_vms',
    help: 'VMs defined on this host, by state.',
    labelNames: ['state'] as const,
    registers: [register],
    collect() {
      this.reset();
      // Every state gets a sample, 0 included, so a panel shows a line rather than a gap.
      for (const state of VmState.options) this.set({ state }, 0);
      for (const vm of s.vms.list()) this.inc({ state: vm.state });
    },
  });
  new Gauge({
    name: 'vmhop_migrations_running',
    help: 'Migration jobs running on this host, by mode and role.',
    labelNames: ['mode', 'role'] as const,
    registers: [register],
    collect() {
      this.reset();
      for (const j of s.jobStore.running()) this.inc({ mode: j.mode, role: j.role });
    },
  });
  runningJobGauges(register, s);
  poolGauges(register, s);
}

/** Progress of the jobs this host runs as source (the target has no progress of its own). */
function runningJobGauges(register: Registry, s: Sources): void {
  const progressOf = () =>
    s.jobStore
      .running()
      .filter((j) => j.role === 'source')
      .flatMap((j) => {
        const p = s.engine.info(j.id).progress;
        return p ? [{ vm: j.vm, mode: j.mode, p }] : [];
      });
  const labelNames = ['vm', 'mode', 'kind'] as const;
  new Gauge({
    name: 'vmhop_migration_data_remaining_bytes',
    help: 'Bytes a running migration still has to send: RAM (kind=ram, dirty pages included) and disks (kind=disk).',
    labelNames,
    registers: [register],
    collect() {
      this.reset();
      for (const { vm, mode, p } of progressOf()) {
        this.set({ vm, mode, kind: 'ram' }, p.ramRemainingBytes);
        const disk = p.disks.reduce((a, d) => a + Math.max(0, d.totalBytes - d.doneBytes), 0);
        this.set({ vm, mode, kind: 'disk' }, disk);
      }
    },
  });
  new Gauge({
    name: 'vmhop_migration_data_processed_bytes',
    help: 'Bytes a running migration has sent so far: RAM (kind=ram) and disks (kind=disk).',
    labelNames,
    registers: [register],
    collect() {
      this.reset();
      for (const { vm, mode, p } of progressOf()) {
        this.set({ vm, mode, kind: 'ram' }, p.ramTransferredBytes);
        this.set(
          { vm, mode, kind: 'disk' },
          p.disks.reduce((a, d) => a + d.doneBytes, 0),
        );
      }
    },
  });
  new Gauge({
    name: 'vmhop_migration_memory_transfer_rate_bytes',
    help: "A running migration's RAM transfer rate (bytes per second).",
    labelNames: ['vm', 'mode'] as const,
    registers: [register],
    collect() {
      this.reset();
      for (const { vm, mode, p } of progressOf()) this.set({ vm, mode }, p.rateBps);
    },
  });
  new Gauge({
    name: 'vmhop_migration_dirty_memory_rate_bytes',
    help: 'The rate the guest dirties RAM during a running migration (bytes per second).',
    labelNames: ['vm', 'mode'] as const,
    registers: [register],
    collect() {
      this.reset();
      for (const { vm, mode, p } of progressOf()) this.set({ vm, mode }, p.dirtyRateBps);
    },
  });
}

function poolGauges(register: Registry, s: Sources): void {
  const gauge = (
    name: string,
    help: string,
    value: (p: { capacityBytes: number; freeBytes: number }) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['pool', 'kind'] as const,
      registers: [register],
      async collect() {
        this.reset();
        for (const p of (await s.storage.listPools()).pools)
          this.set({ pool: p.name, kind: p.kind }, value(p));
      },
    });
  gauge(
    'vmhop_pool_capacity_bytes',
    "A storage pool's size (its file system's or block devices').",
    (p) => p.capacityBytes,
  );
  gauge('vmhop_pool_free_bytes', 'Free space in a storage pool.', (p) => p.freeBytes);
}
