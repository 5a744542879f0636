// Typed wrappers around the qemu-img subcommands vmhop uses: info, create, resize, convert,
// map, compare, check, rebase. argv arrays only (never a shell), byte sizes only (no
// suffixes to misread), absolute paths only (a name starting with '-' would read as an option).
// A failure keeps the argv, exit code and qemu-img's stderr. Not here: which file is
// allowed to be touched; the storage service decides that before calling.
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { VmhopError } from '../../protocol/errors.js';

export type ImageFormat = 'qcow2' | 'raw';

/** Metadata commands read headers only; a minute means a hung mount, not a slow disk. */
const metadataTimeoutMs = 60_000;

interface RunOpts {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Exit codes that carry an answer rather than a failure (compare: 1, check: 2, 3, 63). */
  okExitCodes?: readonly number[];
}

interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

async function qemuImg(args: string[], opts: RunOpts = {}): Promise<RunResult> {
  const { execa } = await import('execa');
  const r = await execa('qemu-img', args, {
    reject: false,
    stdin: 'ignore',
    timeout: opts.timeoutMs,
    cancelSignal: opts.signal,
    // Stable English messages: callers and tests read stderr.
    env: { LC_ALL: 'C' },
  });
  if (r.isCanceled && opts.signal?.aborted) throw opts.signal.reason;
  const exitCode = r.exitCode ?? -1;
  if (exitCode === 0 || opts.okExitCodes?.includes(exitCode)) {
    return { stdout: r.stdout, stderr: r.stderr, exitCode };
  }
  const argv = ['qemu-img', ...args];
  const why = r.stderr.trim() || r.stdout.trim() || (r.timedOut ? 'timed out' : `signal ${r.signal ?? '?'}`);
  throw new VmhopError(
    'VMHOP_ERR_COMMAND_FAILED',
    `\`${argv.join(' ')}\` failed (exit ${exitCode}${r.timedOut ? ', timed out' : ''}): ${why}`,
    { command: argv, exitCode, stderr: r.stderr },
  );
}

function absolute(path: string): string {
  if (!isAbsolute(path)) {
    throw new VmhopError('VMHOP_ERR_INTERNAL', `qemu-img was given the relative path \`${path}\``, { path });
  }
  return path;
}

function parseJson<T>(schema: z.ZodType<T>, text: string, args: string[]): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new VmhopError('VMHOP_ERR_COMMAND_FAILED', `qemu-img ${args[0]} printed invalid JSON`, { text }, e);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new VmhopError('VMHOP_ERR_COMMAND_FAILED', `qemu-img ${args[0]} printed unexpected JSON`, {
      issues: parsed.error.issues,
    });
  }
  return parsed.data;
}

const RawImageInfo = z.object({
  filename: z.string(),
  format: z.string(),
  'virtual-size': z.number(),
  'actual-size': z.number().optional(),
  'cluster-size': z.number().optional(),
  'backing-filename': z.string().optional(),
  'full-backing-filename': z.string().optional(),
  'backing-filename-format': z.string().optional(),
  'dirty-flag': z.boolean().optional(),
  'format-specific': z
    .object({ data: z.object({ corrupt: z.boolean().optional() }).passthrough() })
    .optional(),
});

export interface ImageInfo {
  filename: string;
  format: string;
  virtualSizeBytes: number;
  /** Bytes the file occupies on disk (st_blocks); 0 for block devices. */
  actualSizeBytes: number;
  clusterSizeBytes?: number;
  /** The backing file name as written in the header (may be relative). */
  backingFilename?: string;
  /** The backing file resolved against the image's directory. */
  fullBackingFilename?: string;
  backingFormat?: string;
  dirty: boolean;
  corrupt: boolean;
}

function toImageInfo(r: z.infer<typeof RawImageInfo>): ImageInfo {
  return {
    filename: r.filename,
    format: r.format,
    virtualSizeBytes: r['virtual-size'],
    actualSizeBytes: r['actual-size'] ?? 0,
    clusterSizeBytes: r['cluster-size'],
    backingFilename: r['backing-filename'],
    fullBackingFilename: r['full-backing-filename'],
    backingFormat: r['backing-filename-format'],
    dirty: r['dirty-flag'] ?? false,
    corrupt: r['format-specific']?.data.corrupt ?? false,
  };
}

export interface InfoOpts {
  /** Skip format probing: a raw guest disk holding a qcow2 header must not be read as qcow2. */
  format?: string;
  /** -U: read an image a running QEMU holds locked (metadata only, so safe). Default true. */
  forceShare?: boolean;
}

function infoArgs(path: string, opts: InfoOpts, chain: boolean): string[] {
  const args = ['info', '--output=json'];
  if (chain) args.push('--backing-chain');
  if (opts.forceShare ?? true) args.push('-U');
  if (opts.format) args.push('-f', opts.format);
  return [...args, absolute(path)];
}

/** The image alone; works even when its backing file is missing. */
export async function info(path: string, opts: InfoOpts = {}): Promise<ImageInfo> {
  const args = infoArgs(path, opts, false);
  const r = await qemuImg(args, { timeoutMs: metadataTimeoutMs });
  return toImageInfo(parseJson(RawImageInfo, r.stdout, args));
}

/** The image and its backing chain, nearest first; fails if a backing file is missing. */
export async function infoChain(path: string, opts: InfoOpts = {}): Promise<ImageInfo[]> {
  const args = infoArgs(path, opts, true);
  const r = await qemuImg(args, { timeoutMs: metadataTimeoutMs });
  return parseJson(z.array(RawImageInfo).min(1), r.stdout, args).map(toImageInfo);
}

export interface CreateOpts {
  format: ImageFormat;
  /** Required unless there is a backing file (the overlay then takes the backing file's size). */
  sizeBytes?: number;
  backing?: { file: string; format: ImageFormat };
}

/** Creates (or truncates!) `path`; callers reserve the name first so nothing existing is lost. */
export async function create(path: string, opts: CreateOpts): Promise<void> {
  const args = ['create', '-q', '-f', opts.format];
  if (opts.backing) args.push('-b', absolute(opts.backing.file), '-F', opts.backing.format);
  args.push(absolute(path));
  if (opts.sizeBytes !== undefined) args.push(String(opts.sizeBytes));
  await qemuImg(args, { timeoutMs: metadataTimeoutMs });
}

export interface ResizeOpts {
  format: ImageFormat;
  sizeBytes: number;
  /** qemu-img refuses to shrink without --shrink: data past the new end is lost. */
  shrink?: boolean;
}

export async function resize(path: string, opts: ResizeOpts): Promise<void> {
  const args = ['resize', '-q', '-f', opts.format];
  if (opts.shrink) args.push('--shrink');
  args.push(absolute(path), String(opts.sizeBytes));
  await qemuImg(args, { timeoutMs: metadataTimeoutMs });
}

export interface ConvertOpts {
  sourceFormat: string;
  targetFormat: ImageFormat;
  /** -n: write into an existing target (a block device being restored) instead of creating it. */
  targetExists?: boolean;
  /** -B/-F: keep only what differs from this backing file (an incremental dump). */
  backing?: { file: string; format: ImageFormat };
  /** -U on the source: copy an image in use (the copy may be inconsistent). Default false. */
  forceShare?: boolean;
  signal?: AbortSignal;
}

/**
 * Copies `source` to `target`, skipping zeroes (-S default 4 KiB), so a mostly empty block
 * device dumps to a small sparse file. The backing chain is flattened unless `backing` is given.
 */
export async function convert(source: string, target: string, opts: ConvertOpts): Promise<void> {
  const args = ['convert', '-q', '-f', opts.sourceFormat, '-O', opts.targetFormat];
  if (opts.forceShare) args.push('-U');
  if (opts.targetExists) args.push('-n');
  if (opts.backing) args.push('-B', absolute(opts.backing.file), '-F', opts.backing.format);
  args.push(absolute(source), absolute(target));
  await qemuImg(args, { signal: opts.signal });
}

export interface RebaseOpts {
  format: ImageFormat;
  backing: { file: string; format: ImageFormat };
  /** -u: only rewrite the header's backing path (the data already matches the new base). */
  unsafe: boolean;
}

/** Points an overlay at another backing file, e.g. the base copied to a different pool path. */
export async function rebase(path: string, opts: RebaseOpts): Promise<void> {
  const args = ['rebase', '-q', '-f', opts.format];
  if (opts.unsafe) args.push('-u');
  args.push('-b', absolute(opts.backing.file), '-F', opts.backing.format, absolute(path));
  await qemuImg(args, opts.unsafe ? { timeoutMs: metadataTimeoutMs } : {});
}

const RawExtent = z.object({
  start: z.number(),
  length: z.number(),
  depth: z.number(),
  present: z.boolean().optional(),
  zero: z.boolean(),
  data: z.boolean(),
  offset: z.number().optional(),
});
export type Extent = z.infer<typeof RawExtent>;

/** The image's extents: which ranges hold data, which read as zeroes, and at what chain depth. */
export async function map(path: string, opts: InfoOpts = {}): Promise<Extent[]> {
  const args = ['map', '--output=json'];
  if (opts.forceShare ?? true) args.push('-U');
  if (opts.format) args.push('-f', opts.format);
  args.push(absolute(path));
  const r = await qemuImg(args, { timeoutMs: metadataTimeoutMs * 5 });
  return parseJson(z.array(RawExtent), r.stdout, args);
}

/**
 * Bytes a copy has to move: extents holding data. `topOnly` counts only the image's own
 * layer (depth 0), what an incremental copy moves when the backing chain exists on the target.
 */
export function dataBytes(extents: readonly Extent[], opts: { topOnly?: boolean } = {}): number {
  return extents
    .filter((e) => e.data && (!opts.topOnly || e.depth === 0))
    .reduce((sum, e) => sum + e.length, 0);
}

export interface CompareOpts {
  formatA?: string;
  formatB?: string;
  /** -s: images of different sizes, or allocated-vs-unallocated zeroes, count as different. */
  strict?: boolean;
  forceShare?: boolean;
  signal?: AbortSignal;
}

export type CompareResult = { identical: true } | { identical: false; mismatch: string };

/** Guest-visible content of two images; exit 1 is an answer ("differ"), exit 2 an error. */
export async function compare(a: string, b: string, opts: CompareOpts = {}): Promise<CompareResult> {
  const args = ['compare'];
  if (opts.formatA) args.push('-f', opts.formatA);
  if (opts.formatB) args.push('-F', opts.formatB);
  if (opts.strict) args.push('-s');
  if (opts.forceShare) args.push('-U');
  args.push(absolute(a), absolute(b));
  const r = await qemuImg(args, { signal: opts.signal, okExitCodes: [1] });
  return r.exitCode === 0 ? { identical: true } : { identical: false, mismatch: r.stdout.trim() };
}

const RawCheck = z
  .object({
    'check-errors': z.number().optional(),
    corruptions: z.number().optional(),
    leaks: z.number().optional(),
    'allocated-clusters': z.number().optional(),
    'total-clusters': z.number().optional(),
  })
  .passthrough();

export type CheckResult =
  { status: 'clean' | 'leaks' | 'corrupt'; report: z.infer<typeof RawCheck> } | { status: 'unsupported' };

/** Exit codes per qemu-img(1): 2 corruptions, 3 leaked clusters only, 63 format has no check. */
export async function check(path: string, opts: InfoOpts = {}): Promise<CheckResult> {
  const args = ['check', '--output=json'];
  if (opts.forceShare) args.push('-U');
  if (opts.format) args.push('-f', opts.format);
  args.push(absolute(path));
  const r = await qemuImg(args, { okExitCodes: [2, 3, 63] });
  if (r.exitCode === 63) return { status: 'unsupported' };
  const report = parseJson(RawCheck, r.stdout, args);
  return { status: r.exitCode === 2 ? 'corrupt' : r.exitCode === 3 ? 'leaks' : 'clean', report };
}
