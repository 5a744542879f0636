// The prediction of a live migration before it moves (issue 15 §1): what was measured (dirty
// rate, non-zero RAM, link) and, for each way of moving, whether it converges, how long it takes,
// what crosses the wire and how long the guest pauses. Shown by the pre-flight (dry run) and kept
// in the job report beside the outcome. The model is agent/migration/predict/model.ts.
import { z } from 'zod';

/**
 * The ways a live migration can move RAM: pre-copy with the configured downtime limit, pre-copy
 * with multifd compression, pre-copy with the guest throttled (auto-converge), and post-copy
 * after the first pre-copy pass.
 */
export const Way = z.enum(['precopy', 'precopy-compressed', 'precopy-throttled', 'postcopy-after-precopy']);
export type Way = z.infer<typeof Way>;

export const WayPrediction = z.object({
  way: Way,
  /** False: the pass that must fit in the downtime limit never gets small enough. */
  converges: z.boolean(),
  /** Seconds from the job's start (setup included) to the guest running on the target; null if it never converges. */
  totalS: z.number().nullable(),
  /** Bytes on the wire (compressed bytes for the compressed way); for a non-converging way, up to the give-up horizon. */
  bytes: z.number(),
  /** Expected pause of the guest at the switchover, ms (device state and commit included); null if it never converges. */
  pauseMs: z.number().nullable(),
  /** RAM passes before the switchover (post-copy: 1). */
  passes: z.number(),
  /** Why the figures are what they are, in a few words. */
  reason: z.string(),
});
export type WayPrediction = z.infer<typeof WayPrediction>;

/** Where a measured figure came from. */
export const FigureSource = z.enum(['measured', 'sampled', 'history', 'bandwidth-cap', 'assumed', 'unknown']);
export type FigureSource = z.infer<typeof FigureSource>;

export const PredictionInputs = z.object({
  ramBytes: z.number(),
  /** Guest RAM that is not zero pages: what the first pass must send. */
  nonZeroBytes: z.number(),
  nonZeroSource: FigureSource,
  /** Bytes/s of guest pages made dirty (calc-dirty-rate over the short window). */
  dirtyRateBps: z.number(),
  dirtyRateSource: FigureSource,
  /** Bytes the guest keeps rewriting, when the longer window showed the rate saturating. */
  workingSetBytes: z.number().optional(),
  /** Bytes/s the migration stream can move (the --bandwidth cap, or the link). */
  linkBps: z.number(),
  linkSource: FigureSource,
  maxDowntimeMs: z.number(),
  /** Fixed cost of a switchover: device state, the target's load and resume, vmhop's commit round trip. */
  switchoverMs: z.number(),
  /** The same for post-copy, whose switch sends only device state and resumes the target at once; switchoverMs when absent. */
  postcopySwitchoverMs: z.number().optional(),
  /** Fixed cost before RAM moves: the target's prepare (its QEMU started, paused, listening); counted in totalS. */
  setupMs: z.number().optional(),
  /** Compressed size / raw size of non-zero guest pages (the sample's, deflated). */
  compressionRatio: z.number(),
});
export type PredictionInputs = z.infer<typeof PredictionInputs>;

export const Prediction = z.object({
  /** Epoch ms of the measurement. */
  at: z.number(),
  /** How long the measurement took, ms (it runs in the pre-flight). */
  measuredMs: z.number(),
  inputs: PredictionInputs,
  /** Non-zero RAM / link: no way can be faster. */
  lowerBoundS: z.number(),
  ways: z.array(WayPrediction),
  /** The way the job's options lead to. */
  configured: Way,
  notes: z.array(z.string()).default([]),
});
export type Prediction = z.infer<typeof Prediction>;

/**
 * Agent to agent (POST /v1/peer/link-probe): the target listens once on its migration address for
 * the source's probe stream, admitting only these addresses; the stream is bounded in bytes and time.
 */
export const LinkProbeRequest = z.object({
  protocolVersion: z.number().int(),
  sourceAddresses: z.array(z.string().ip()).max(8),
  maxBytes: z
    .number()
    .int()
    .min(64 * 1024)
    .max(64 * 1024 * 1024),
  maxMs: z.number().int().min(100).max(3_000),
});
export type LinkProbeRequest = z.infer<typeof LinkProbeRequest>;

export const LinkProbeReply = z.object({ address: z.string(), port: z.number().int() });
export type LinkProbeReply = z.infer<typeof LinkProbeReply>;
