// The drain planner (issue 17 §1): from a fleet snapshot, where each VM of one host goes (target
// chosen among the hosts that pass every check, spreading by the memory left free), how (live
// over shared storage, live copying local disks, offline when stopped), in which order and when
// under the limits, and which VMs cannot go anywhere and why. Pure: no I/O, no clock.
import { VmhopError } from '../protocol/errors.js';
import type { DrainMove, DrainPlan, DrainTarget, Unplaceable } from '../protocol/drain.js';
import { MODEL_TEXT, payloadRate, predictMove } from './predict-move.js';
import { schedule } from './schedule.js';
import { limitsOf, type DrainRequest, type FleetSnapshot, type HostFacts, type VmFacts } from './snapshot.js';
import {
  fixOf,
  isLive,
  localDiskBytes,
  memoryNeed,
  modeOf,
  refusalOf,
  roomOf,
  take,
  type Room,
  type TargetCheck,
} from './target-checks.js';

/**
 * Spread, not first fit: a target's score is the fraction of its memory still free after the
 * VM, less this much per VM the plan already sends it, so equal hosts take turns (stopped VMs
 * take no memory) and the moves spread over more targets' slots.
 */
export const SPREAD_PENALTY_PER_VM = 0.02;

interface Placement {
  vm: VmFacts;
  to: HostFacts;
  candidates: number;
}

export function planDrain(snapshot: FleetSnapshot, request: DrainRequest): DrainPlan {
  const limits = limitsOf(request);
  const source = hostNamed(snapshot, request.host);
  const { targets, skippedHosts } = targetsOf(snapshot, request);
  const rooms = new Map(targets.map((h) => [h.name, roomOf(h)]));
  const placements: Placement[] = [];
  const unplaceable: Unplaceable[] = [];
  for (const vm of placementOrder(snapshot.vms.filter((v) => v.host === source.name))) {
    const refused = vmRefusal(vm, source);
    if (refused) {
      unplaceable.push({ vm: vm.name, priority: vm.priority, reason: refused, refusals: {} });
      continue;
    }
    const counts: Partial<Record<TargetCheck, number>> = {};
    const phrases: Partial<Record<TargetCheck, string>> = {};
    let best: { host: HostFacts; room: Room; score: number } | undefined;
    let candidates = 0;
    for (const host of targets) {
      const room = rooms.get(host.name)!;
      const refusal = refusalOf(vm, host, room, limits.memoryReserveBytes);
      if (refusal) {
        counts[refusal.check] = (counts[refusal.check] ?? 0) + 1;
        phrases[refusal.check] ??= refusal.phrase;
        continue;
      }
      candidates++;
      const score =
        (room.memoryFreeBytes - memoryNeed(vm)) / Math.max(1, host.memoryTotalBytes) -
        SPREAD_PENALTY_PER_VM * room.vmsIn;
      if (!best || score > best.score) best = { host, room, score };
    }
    if (!best) {
      unplaceable.push({
        vm: vm.name,
        priority: vm.priority,
        reason: noTargetReason(targets.length, counts, phrases),
        refusals: counts,
      });
      continue;
    }
    take(best.room, vm);
    placements.push({ vm, to: best.host, candidates });
  }
  const { moves, maxConcurrent } = scheduleMoves(snapshot, source, placements, limits);
  return {
    host: source.name,
    limits,
    model: MODEL_TEXT,
    moves,
    unplaceable,
    targets: targets.map((h) => targetOf(h, rooms.get(h.name)!)),
    skippedHosts,
    total: {
      vms: moves.length + unplaceable.length,
      moves: moves.length,
      unplaceable: unplaceable.length,
      bytes: moves.reduce((n, m) => n + m.bytes, 0),
      seconds: moves.reduce((n, m) => Math.max(n, m.endSeconds), 0),
      maxConcurrent,
    },
  };
}

function hostNamed(snapshot: FleetSnapshot, name: string): HostFacts {
  const host = snapshot.hosts.find((h) => h.name === name);
  if (host) return host;
  throw new VmhopError(
    'VMHOP_ERR_HOST_UNKNOWN',
    `host \`${name}\` is not in the fleet; hosts: ${snapshot.hosts.map((h) => h.name).join(', ') || '(none)'}`,
    { host: name },
  );
}

function targetsOf(snapshot: FleetSnapshot, request: DrainRequest) {
  const allowed = request.allowedTargets;
  for (const name of allowed ?? []) {
    if (name === request.host)
      throw new VmhopError(
        'VMHOP_ERR_USAGE',
        `host \`${name}\` is the one being drained: it cannot be a target`,
        {
          host: name,
        },
      );
    hostNamed(snapshot, name);
  }
  const skippedHosts: { host: string; reason: string }[] = [];
  const targets = snapshot.hosts.filter((h) => {
    if (h.name === request.host || (allowed && !allowed.includes(h.name))) return false;
    const reason =
      h.unavailable ?? (h.maintenance ? 'in maintenance (drained): takes no VMs until undrained' : undefined);
    if (reason) skippedHosts.push({ host: h.name, reason });
    return !reason;
  });
  return { targets, skippedHosts };
}

/** Hardest first: priority, then the most memory, then the most local disk, then by name. */
function placementOrder(vms: VmFacts[]): VmFacts[] {
  return [...vms].sort(
    (a, b) =>
      b.priority - a.priority ||
      memoryNeed(b) - memoryNeed(a) ||
      localDiskBytes(b) - localDiskBytes(a) ||
      a.name.localeCompare(b.name),
  );
}

/** A VM no target could take, whatever the target. */
function vmRefusal(vm: VmFacts, source: HostFacts): string | undefined {
  if (vm.state === 'migrating')
    return `a migration of \`${vm.name}\` is running: wait for it to end (or vmhop domjobabort ${vm.name}), then plan again`;
  if (vm.state === 'crashed')
    return `\`${vm.name}\` crashed (its QEMU exited unasked): vmhop start or vmhop destroy it, then plan again`;
  // The measured refusal of qemu-rules.ts: a 7.x source under TCG loses memory written during a live move.
  if (isLive(vm) && source.accel === 'tcg' && /^7\./.test(source.qemuVersion))
    return `a live migration from QEMU ${source.qemuVersion} under TCG is refused (guest memory written during the move is lost): shut \`${vm.name}\` down to move it offline, or upgrade QEMU on \`${source.name}\``;
  return undefined;
}

function noTargetReason(
  hosts: number,
  counts: Partial<Record<TargetCheck, number>>,
  phrases: Partial<Record<TargetCheck, string>>,
): string {
  if (hosts === 0) return 'no host can take VMs: none is allowed, reachable and out of maintenance';
  const parts = (Object.entries(counts) as [TargetCheck, number][]).sort((a, b) => b[1] - a[1]);
  const text = parts.map(([check, n]) => `${n} ${n === 1 ? 'host' : 'hosts'} ${phrases[check]}`).join('; ');
  return `no host can take it: ${text}; ${fixOf[parts[0]![0]]}`;
}

/** Migration order: priority first; then the smallest moves, so most VMs leave the host soonest. */
function scheduleMoves(
  snapshot: FleetSnapshot,
  source: HostFacts,
  placements: Placement[],
  limits: ReturnType<typeof limitsOf>,
): { moves: DrainMove[]; maxConcurrent: number } {
  const budget = (bits: number) => payloadRate(Math.min(bits, limits.linkBudgetBitsPerSecond ?? bits));
  const rates = new Map(snapshot.hosts.map((h) => [h.name, budget(h.linkBitsPerSecond)]));
  const rateOf = (h: string) => rates.get(h) ?? 0;
  const planned = placements.map((p) => {
    const size = {
      mode: modeOf(p.vm),
      memoryBytes: p.vm.memoryBytes,
      diskBytes: localDiskBytes(p.vm),
      ...(p.vm.dirtyRateBps === undefined ? {} : { dirtyRateBps: p.vm.dirtyRateBps }),
    };
    return { ...p, size, prediction: predictMove(size, Math.min(rateOf(source.name), rateOf(p.to.name))) };
  });
  planned.sort(
    (a, b) =>
      b.vm.priority - a.vm.priority ||
      a.prediction.bytes - b.prediction.bytes ||
      a.vm.name.localeCompare(b.vm.name),
  );
  const timed = schedule(
    planned.map((p) => ({
      from: source.name,
      to: p.to.name,
      bytes: p.prediction.bytes,
      setupSeconds: p.prediction.setupSeconds,
    })),
    { maxPerHost: limits.maxPerHost, maxPerLink: limits.maxPerLink, linkBytesPerSecond: rateOf },
  );
  const moves = planned.map((p, i) => ({
    order: i + 1,
    vm: p.vm.name,
    from: source.name,
    to: p.to.name,
    mode: p.size.mode,
    priority: p.vm.priority,
    memoryBytes: p.vm.memoryBytes,
    diskBytes: p.size.diskBytes,
    bytes: p.prediction.bytes,
    predictedSeconds: tenths(p.prediction.seconds),
    predictedPauseMs: p.prediction.pauseMs,
    startSeconds: tenths(timed.slots[i]!.startSeconds),
    endSeconds: tenths(timed.slots[i]!.endSeconds),
    candidates: p.candidates,
    ...(p.prediction.ram ? { ram: p.prediction.ram } : {}),
  }));
  return { moves, maxConcurrent: timed.maxConcurrent };
}

const tenths = (s: number) => Math.round(s * 10) / 10;

function targetOf(host: HostFacts, room: Room): DrainTarget {
  return {
    host: host.name,
    vmsIn: room.vmsIn,
    memoryTotalBytes: host.memoryTotalBytes,
    memoryFreeBeforeBytes: host.memoryFreeBytes,
    memoryFreeAfterBytes: room.memoryFreeBytes,
  };
}
