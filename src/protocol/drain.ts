// A drain plan (issue 17 §1): where each VM of a host goes, how, in which order and when, under
// the limits per host and per link, and the VMs that cannot go anywhere with the reason. Made by
// the pure planner in src/fleet/; the API, CLI and UI share this shape. No Node APIs here.
import { z } from 'zod';

/** How a VM moves: as the migration engine's modes (running VMs live, stopped ones offline). */
export const DrainMode = z.enum(['live-shared', 'live-copy', 'offline']);
export type DrainMode = z.infer<typeof DrainMode>;

export const DrainLimits = z.object({
  /** Migrations one target host receives at once (QEMU starts, disk writes, its CPU). */
  maxPerHost: z.number().int().min(1).max(64),
  /** Migrations that share one host's migration link at once (the drained host's, every target's). */
  maxPerLink: z.number().int().min(1).max(64),
  /** Memory every target keeps free after the moves it takes, for its own needs. */
  memoryReserveBytes: z.number().int().min(0),
  /** Migration traffic one link may carry, shared equally by its concurrent moves; absent: the link's rate. */
  linkBudgetBitsPerSecond: z.number().positive().optional(),
});
export type DrainLimits = z.infer<typeof DrainLimits>;

export const DrainMove = z.object({
  /** 1 = first to start. */
  order: z.number().int().min(1),
  vm: z.string(),
  from: z.string(),
  to: z.string(),
  mode: DrainMode,
  priority: z.number().int(),
  memoryBytes: z.number().nonnegative(),
  /** Disk bytes that cross the link (local disks of a live-copy or offline move; 0 on shared storage). */
  diskBytes: z.number().nonnegative(),
  /** memory + disk bytes as the prediction counts them. */
  bytes: z.number().nonnegative(),
  /** The move alone on the link at the full budget (fleet/predict-move.ts). */
  predictedSeconds: z.number().nonnegative(),
  /** How long the guest stops: the switchover of a live move; 0 for a stopped VM. */
  predictedPauseMs: z.number().nonnegative(),
  /** When it starts and ends in the schedule, seconds from the drain's start, link shared. */
  startSeconds: z.number().nonnegative(),
  endSeconds: z.number().nonnegative(),
  /** Hosts that could have taken it. */
  candidates: z.number().int().min(1),
  /** A live move: how RAM would move by the engine's model, and why the figures are what they are. */
  ram: z.object({ way: z.string(), converges: z.boolean(), reason: z.string() }).optional(),
});
export type DrainMove = z.infer<typeof DrainMove>;

export const Unplaceable = z.object({
  vm: z.string(),
  priority: z.number().int(),
  /** One sentence: why no host can take it, with the fix where there is one. */
  reason: z.string(),
  /** Hosts refused per check (e.g. `{"memory": 3, "cpu-model": 1}`). */
  refusals: z.record(z.string(), z.number().int()),
});
export type Unplaceable = z.infer<typeof Unplaceable>;

export const DrainTarget = z.object({
  host: z.string(),
  vmsIn: z.number().int().min(0),
  memoryTotalBytes: z.number().nonnegative(),
  memoryFreeBeforeBytes: z.number(),
  memoryFreeAfterBytes: z.number(),
});
export type DrainTarget = z.infer<typeof DrainTarget>;

export const DrainPlan = z.object({
  host: z.string(),
  limits: DrainLimits,
  /** The prediction model in one line, so a reader knows what the times stand for. */
  model: z.string(),
  moves: z.array(DrainMove),
  unplaceable: z.array(Unplaceable),
  /** Every host considered and what it takes (those that take nothing included). */
  targets: z.array(DrainTarget),
  /** Hosts left out and why (unreachable, in maintenance, the drained host itself is not listed). */
  skippedHosts: z.array(z.object({ host: z.string(), reason: z.string() })),
  total: z.object({
    vms: z.number().int(),
    moves: z.number().int(),
    unplaceable: z.number().int(),
    bytes: z.number().nonnegative(),
    /** When the last move ends in the schedule. */
    seconds: z.number().nonnegative(),
    maxConcurrent: z.number().int().min(0),
  }),
});
export type DrainPlan = z.infer<typeof DrainPlan>;

const HOST = '[A-Za-z0-9][A-Za-z0-9_.-]{0,62}';

/** GET /v1/host/drain-plan: the targets allowed, the link rate assumed and the limits, all optional. */
export const DrainPlanQuery = z.object({
  /** Comma-separated host names (peers of the drained host); every peer when absent. */
  to: z
    .string()
    .regex(new RegExp(`^${HOST}(,${HOST}){0,999}$`), 'to: host names separated by commas, e.g. b,c')
    .optional(),
  /** The migration links' rate in Mbit/s (no agent measures its link yet). */
  linkMbps: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  maxPerHost: z.coerce.number().int().min(1).max(64).optional(),
  maxPerLink: z.coerce.number().int().min(1).max(64).optional(),
  /** Memory each target keeps free, MiB. */
  reserveMiB: z.coerce.number().int().min(0).max(1_048_576).optional(),
  /** Migration traffic one link may carry, Mbit/s, shared by the moves on it; the link's rate when absent. */
  linkBudgetMbps: z.coerce.number().int().min(1).max(1_000_000).optional(),
});
export type DrainPlanQuery = z.infer<typeof DrainPlanQuery>;

/**
 * One VM of a drain being executed: queued until its turn, moving while its migration job runs,
 * then moved, failed (it stays on the drained host, running as before), cancelled (the drain
 * was cancelled: a running move rolled back, or it never started).
 */
export const DrainVmState = z.enum(['queued', 'moving', 'moved', 'failed', 'cancelled']);
export type DrainVmState = z.infer<typeof DrainVmState>;

export const DrainVm = z.object({
  order: z.number().int().min(1),
  vm: z.string(),
  to: z.string(),
  mode: DrainMode,
  priority: z.number().int(),
  state: DrainVmState,
  /** The migration job that moves it (on the drained host), once started. */
  job: z.string().optional(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  /** Wall time of its migration job, seconds. */
  seconds: z.number().nonnegative().optional(),
  /** The guest's pause at the switchover as the engine measured it (live moves). */
  pauseMs: z.number().nonnegative().optional(),
  /** RAM + disk bytes its job reports as sent. */
  bytes: z.number().nonnegative().optional(),
  /** Why it did not move: the job's error code and message. */
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type DrainVm = z.infer<typeof DrainVm>;

/** running until every VM has moved, failed or been cancelled; completed only when every VM moved. */
export const DrainState = z.enum(['running', 'completed', 'failed', 'cancelled']);
export type DrainState = z.infer<typeof DrainState>;

/** A drain being executed, or its report once it ended (issue 17 §1: per VM and the whole). */
export const DrainJob = z.object({
  id: z.string(),
  host: z.string(),
  state: DrainState,
  /** Set once cancel was asked: the running moves end, the queued ones are left. */
  cancelRequested: z.boolean(),
  limits: DrainLimits,
  vms: z.array(DrainVm),
  unplaceable: z.array(Unplaceable),
  createdAt: z.string(),
  updatedAt: z.string(),
  total: z.object({
    vms: z.number().int(),
    moved: z.number().int(),
    failed: z.number().int(),
    cancelled: z.number().int(),
    queued: z.number().int(),
    /** From the drain's start to its end (or now), seconds. */
    seconds: z.number().nonnegative(),
    bytes: z.number().nonnegative(),
  }),
  journal: z.array(z.object({ at: z.string(), entry: z.string() })).optional(),
});
export type DrainJob = z.infer<typeof DrainJob>;

/** POST /v1/host/drain: execute a drain (the plan is made from the same inputs as the dry run's). */
export const DrainStartRequest = z
  .object({
    to: z
      .array(z.string().regex(new RegExp(`^${HOST}$`)))
      .max(1000)
      .optional(),
    linkMbps: z.number().int().min(1).max(1_000_000).default(1000),
    maxPerHost: z.number().int().min(1).max(64).optional(),
    maxPerLink: z.number().int().min(1).max(64).optional(),
    reserveMiB: z.number().int().min(0).max(1_048_576).optional(),
    /** Migration traffic the drained host's link may carry, Mbit/s, split among the moves on it. */
    linkBudgetMbps: z.number().int().min(1).max(1_000_000).optional(),
    reason: z.string().max(200).optional(),
    /** Plaintext RAM/NBD streams for every move (as `vmhop migrate --insecure`): only when asked. */
    insecure: z.boolean().default(false),
    /**
     * Keep the copied disks of offline and live-copy moves on the drained host. By default a
     * drain deletes them once the target runs the VM (as `migrate --delete-source`): the host is
     * emptied for its maintenance, and `undrain --return` finds no stale copy in the way.
     */
    keepSourceDisks: z.boolean().default(false),
  })
  .strict();
export type DrainStartRequest = z.infer<typeof DrainStartRequest>;

/** A VM the last drain moved away and that `undrain --return` brings back: from where, how. */
export const ReturnMove = z.object({
  vm: z.string(),
  from: z.string(),
  mode: DrainMode,
});
export type ReturnMove = z.infer<typeof ReturnMove>;

/** POST /v1/host/undrain: maintenance lifted; with `return`, the VMs to bring home. */
export const UndrainReply = z.object({
  host: z.string(),
  wasInMaintenance: z.boolean(),
  /** The drain whose moves are returned (the last one that moved VMs). */
  drain: z.string().optional(),
  returns: z.array(ReturnMove),
  /** VMs of that drain not returned, and why (no longer on the target, ...). */
  skipped: z.array(z.object({ vm: z.string(), reason: z.string() })),
});
export type UndrainReply = z.infer<typeof UndrainReply>;
