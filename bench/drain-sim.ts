// Simulation (issue 17 §3): plans the drain of one host of a synthetic 1000-host, 20,000-VM
// fleet with the real planner (src/fleet), no agent, no QEMU. Reports planning time, how evenly
// the targets fill, how many moves run at once under the limits, and the predicted total at
// 10 Gbit/s. `npm run bench -- drain-sim`, or `node dist/bench/drain-sim.js` alone.
// The fleet is drawn from a seeded RNG, so every run plans the same fleet; the distributions:
// - hosts: RAM 128 GiB (10%), 256 GiB (60%), 512 GiB (30%); 8 GiB of it kept by the host;
//   CPU generation Haswell (20%), Skylake (50%), Icelake (30%), each offering qemu64 and the
//   models of its generation and older; QEMU 10.0.2 (90%) or 8.2.2 (10%, no 10.0 machine
//   types); shared storage: 10 NFS clusters of 100 hosts each (host i mounts cluster i / 100);
//   a 4 TiB `default` pool; a 10 Gbit/s migration link.
// - VMs (20 per host on average, each placed on a uniformly drawn host that has the memory, at
//   most 90% of the host committed): RAM 2 GiB (40%), 4 (30%), 8 (20%), 16 (8%), 64 (2%);
//   running 85%, stopped 15%; its disk on its host's NFS (70%) or the local pool (30%, 5-100
//   GiB used, uniform); priority 10 (10%), 0 (80%), -5 (10%); CPU model qemu64 (50%), its
//   host's oldest named model (30%) or its newest (20%); machine pc-q35 of its host's QEMU.
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { planDrain } from '../src/fleet/plan-drain.js';
import type { FleetSnapshot, HostFacts, VmFacts } from '../src/fleet/snapshot.js';
import type { DrainPlan } from '../src/protocol/drain.js';

const GIB = 1024 ** 3;
const HOSTS = 1000;
const VMS = 20_000;
const SEED = 17;
const LINK_BITS = 10e9;
const HOST_KEEPS = 8 * GIB;

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One of `choices` by their weights. */
function pick<T>(r: () => number, choices: [T, number][]): T {
  let x = r() * choices.reduce((n, [, w]) => n + w, 0);
  for (const [v, w] of choices) if ((x -= w) < 0) return v;
  return choices[choices.length - 1]![0];
}

const GENERATIONS = [
  ['Haswell'],
  ['Haswell', 'Skylake-Server'],
  ['Haswell', 'Skylake-Server', 'Icelake-Server'],
];

export function syntheticFleet(seed = SEED): FleetSnapshot {
  const r = rng(seed);
  const hosts: HostFacts[] = [];
  for (let i = 0; i < HOSTS; i++) {
    const total = pick(r, [
      [128 * GIB, 10],
      [256 * GIB, 60],
      [512 * GIB, 30],
    ]);
    const models =
      GENERATIONS[
        pick(r, [
          [0, 20],
          [1, 50],
          [2, 30],
        ])
      ]!;
    const v10 = r() < 0.9;
    const ver = v10 ? '10.0' : '8.2';
    hosts.push({
      name: `h${String(i).padStart(4, '0')}`,
      memoryTotalBytes: total,
      memoryFreeBytes: total - HOST_KEEPS,
      pools: [
        { name: 'default', kind: 'dir', freeBytes: 4096 * GIB },
        { name: 'nfs', kind: 'shared', freeBytes: 1e15, sharedId: `nfs-${Math.floor(i / 100)}` },
      ],
      cpuModels: ['qemu64', ...models],
      machines: [
        `pc-q35-${ver}`,
        `pc-i440fx-${ver}`,
        'pc-q35-7.2',
        'pc-i440fx-7.2',
        ...(v10 ? ['pc-q35-8.2'] : []),
      ],
      machineAliases: { q35: `pc-q35-${ver}`, pc: `pc-i440fx-${ver}` },
      qemuVersion: v10 ? '10.0.2' : '8.2.2',
      accel: 'kvm',
      linkBitsPerSecond: LINK_BITS,
      maintenance: false,
    });
  }
  const vms: VmFacts[] = [];
  const committed = new Map<string, number>();
  for (let i = 0; i < VMS; i++) {
    const memory = pick(r, [
      [2 * GIB, 40],
      [4 * GIB, 30],
      [8 * GIB, 20],
      [16 * GIB, 8],
      [64 * GIB, 2],
    ]);
    const running = r() < 0.85;
    // A uniformly drawn host with room; bounded tries, then the VM is left out of the fleet.
    let h: HostFacts | undefined;
    for (let t = 0; t < 50 && !h; t++) {
      const c = hosts[Math.floor(r() * HOSTS)]!;
      if ((committed.get(c.name) ?? 0) + memory <= 0.9 * c.memoryTotalBytes - HOST_KEEPS) h = c;
    }
    if (!h) continue;
    committed.set(h.name, (committed.get(h.name) ?? 0) + memory);
    if (running) h.memoryFreeBytes -= memory;
    const onNfs = r() < 0.7;
    const used = Math.round((5 + r() * 95) * GIB);
    if (!onNfs) h.pools[0]!.freeBytes -= used;
    const named = h.cpuModels.slice(1);
    const cpu = pick(r, [
      ['qemu64', 50],
      [named[0]!, 30],
      [named[named.length - 1]!, 20],
    ]);
    vms.push({
      name: `vm${String(i).padStart(5, '0')}`,
      host: h.name,
      memoryBytes: memory,
      state: running ? 'running' : 'stopped',
      disks: [
        onNfs
          ? { target: 'vda', pool: 'nfs', usedBytes: used, sharedId: h.pools[1]!.sharedId! }
          : { target: 'vda', pool: 'default', usedBytes: used },
      ],
      priority: pick(r, [
        [10, 10],
        [0, 80],
        [-5, 10],
      ]),
      cpuModel: cpu,
      machine: h.machineAliases.q35!,
    });
  }
  return { hosts, vms };
}

const round = (x: number, digits = 3) => Number(x.toFixed(digits));
const stats = (xs: number[]) => {
  const mean = xs.reduce((n, x) => n + x, 0) / Math.max(1, xs.length);
  const sd = Math.sqrt(xs.reduce((n, x) => n + (x - mean) ** 2, 0) / Math.max(1, xs.length));
  return { min: round(Math.min(...xs)), max: round(Math.max(...xs)), mean: round(mean), stdDev: round(sd) };
};

/** How evenly the plan filled its targets: free-memory share before/after, VMs per target. */
function spreadOf(plan: DrainPlan) {
  const used = plan.targets.filter((t) => t.vmsIn > 0);
  const share = (free: number, total: number) => free / total;
  return {
    targetsConsidered: plan.targets.length,
    targetsUsed: used.length,
    maxVmsPerTarget: Math.max(0, ...plan.targets.map((t) => t.vmsIn)),
    freeMemoryShareOfUsedTargets: {
      before: stats(used.map((t) => share(t.memoryFreeBeforeBytes, t.memoryTotalBytes))),
      after: stats(used.map((t) => share(t.memoryFreeAfterBytes, t.memoryTotalBytes))),
    },
    freeMemoryShareOfAllTargets: {
      before: stats(plan.targets.map((t) => share(t.memoryFreeBeforeBytes, t.memoryTotalBytes))),
      after: stats(plan.targets.map((t) => share(t.memoryFreeAfterBytes, t.memoryTotalBytes))),
    },
  };
}

/** Median of `runs` timings of planning the drain of `host`, in ms, and the plan. */
function timePlan(fleet: FleetSnapshot, host: string, runs: number, limits = {}) {
  const ms: number[] = [];
  let plan: DrainPlan | undefined;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    plan = planDrain(fleet, { host, limits });
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { ms: round(ms[Math.floor(ms.length / 2)]!, 2), plan: plan! };
}

function summary(plan: DrainPlan) {
  const modes: Record<string, number> = {};
  for (const m of plan.moves) modes[m.mode] = (modes[m.mode] ?? 0) + 1;
  return {
    vms: plan.total.vms,
    moves: plan.total.moves,
    modes,
    unplaceable: plan.total.unplaceable,
    unplaceableReasons: plan.unplaceable.slice(0, 5).map((u) => `${u.vm}: ${u.reason}`),
    maxConcurrent: plan.total.maxConcurrent,
    bytesGiB: round(plan.total.bytes / GIB, 1),
    diskBytesGiB: round(plan.moves.reduce((n, m) => n + m.diskBytes, 0) / GIB, 1),
    predictedTotalSeconds: round(plan.total.seconds, 1),
    longestMoveSeconds: Math.max(0, ...plan.moves.map((m) => m.predictedSeconds)),
  };
}

export async function benchDrainSim() {
  const t0 = performance.now();
  const fleet = syntheticFleet();
  const buildMs = performance.now() - t0;
  const perHost = new Map<string, number>();
  for (const v of fleet.vms) perHost.set(v.host, (perHost.get(v.host) ?? 0) + 1);
  // The fullest host (most VMs) is the hardest drain; a median one shows the usual case.
  const ranked = [...perHost.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const fullest = ranked[0]![0];
  const median = ranked[Math.floor(ranked.length / 2)]![0];
  const runs = 9;
  const full = timePlan(fleet, fullest, runs);
  const mid = timePlan(fleet, median, runs);
  const wide = timePlan(fleet, fullest, 1, { maxPerLink: 8 });
  return {
    fleet: {
      seed: SEED,
      hosts: fleet.hosts.length,
      vms: fleet.vms.length,
      vmsPerHost: stats([...fleet.hosts.map((h) => perHost.get(h.name) ?? 0)]),
      buildMs: round(buildMs, 1),
    },
    linkGbitPerS: LINK_BITS / 1e9,
    limits: full.plan.limits,
    fullestHost: {
      host: fullest,
      planningMsMedianOf9: full.ms,
      ...summary(full.plan),
      spread: spreadOf(full.plan),
    },
    medianHost: {
      host: median,
      planningMsMedianOf9: mid.ms,
      ...summary(mid.plan),
      spread: spreadOf(mid.plan),
    },
    fullestHostMaxPerLink8: {
      maxConcurrent: wide.plan.total.maxConcurrent,
      predictedTotalSeconds: round(wide.plan.total.seconds, 1),
    },
    model: full.plan.model,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(JSON.stringify(await benchDrainSim(), null, 2) + '\n');
}
