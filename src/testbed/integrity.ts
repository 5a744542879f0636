// Judges a move by the guest (DESIGN.md, "A move is judged by the guest"): QEMU's
// `completed` is not enough. Before the move: a snapshot of the test guest (boot id, tick,
// uptime, disk ack). After it: a watch of at least `watchMs` from the switchover with the
// heartbeat sampled, then mem-verify, disk-verify of the writes acked before the move, and
// the guest's console on the host it runs on now scanned for oops and panics. It reports;
// it does not move anything, and the caller decides what a failure means.
import { readFile } from 'node:fs/promises';
import { guestCommand } from './client.js';
import { testbedAgentClient } from './agents.js';
import { scanConsole } from './console-scan.js';

export interface GuestSnapshot {
  ip: string;
  bootId: string;
  tick: number;
  uptimeMs: number;
  /** The disk writer's device and last acknowledged sequence number ('' and 0: no writer). */
  diskDev: string;
  diskAck: number;
  memRunning: boolean;
  takenAt: number;
}

interface Status {
  ok: boolean;
  tick: number;
  uptime_ms: number;
  boot_id?: string;
  mem: { running: boolean; mib: number };
  disk: { dev: string; ack: number; running: boolean };
}

const status = async (ip: string) => (await guestCommand(ip, 'status', 5_000)) as unknown as Status;

export async function snapshotGuest(ip: string): Promise<GuestSnapshot> {
  const s = await status(ip);
  if (!s.boot_id)
    throw new Error(`the guest at ${ip} reports no boot id: rebuild it (scripts/build-guest.sh)`);
  return {
    ip,
    bootId: s.boot_id,
    tick: s.tick,
    uptimeMs: s.uptime_ms,
    diskDev: s.disk.dev,
    diskAck: s.disk.ack,
    memRunning: s.mem.mib > 0,
    takenAt: Date.now(),
  };
}

/** The console of the QEMU the agent on `host` started last for `vm` (a migration target: since it resumed). */
export async function agentConsole(host: string, vm: string): Promise<string> {
  const client = await testbedAgentClient(host);
  try {
    return await client.raw('GET', `/v1/vms/${encodeURIComponent(vm)}/console?run=current&bytes=1048576`);
  } finally {
    await client.close();
  }
}

/** A console file QEMU writes directly (a guest not managed by an agent), from `offset` on. */
export const fileConsole =
  (path: string, offset = 0) =>
  async () =>
    (await readFile(path)).subarray(offset).toString('utf8');

export interface IntegrityOptions {
  ip: string;
  before: GuestSnapshot;
  /** The test-bed host the guest runs on now and its VM name there: its console is read through that agent. */
  targetHost?: string;
  vm?: string;
  /** Or a reader of the console (a QEMU no agent manages), e.g. fileConsole(path). */
  console?: () => Promise<string>;
  /** When the guest resumed where it runs now (epoch ms; a job report's resumedAt). Default: now. */
  switchoverAt?: number;
  /** How long after the switchover to watch; at least 10 s by DESIGN.md. */
  watchMs?: number;
  /** Heartbeat samples over the watch (at least 3). */
  samples?: number;
}

export interface IntegrityResult {
  ok: boolean;
  failures: string[];
  /** The console around the first sign of trouble (empty when there was none). */
  consoleLines: string[];
  /** From the switchover to the last heartbeat sample. */
  watchedMs: number;
  sameBoot: boolean;
  ticks: number[];
  /** mem-verify's bad pages; null when the guest runs no memory dirtier. */
  memBad: number | null;
  /** The disk ack before the move that disk-verify required; null when no disk writer runs. */
  diskAckChecked: number | null;
  diskBlocksChecked: number | null;
  consoleBytes: number;
  /** One line for a report, e.g. "same boot, no oops in 10.2 s, mem-verify 0 bad, 812 disk acks intact". */
  summary: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export async function checkGuestIntegrity(o: IntegrityOptions): Promise<IntegrityResult> {
  const { ip, before } = o;
  const watchMs = o.watchMs ?? 10_000;
  const switchoverAt = o.switchoverAt ?? Date.now();
  const hb = await sampleHeartbeat(
    ip,
    before,
    switchoverAt,
    switchoverAt + watchMs,
    Math.max(3, o.samples ?? 5),
  );
  const failures = [...hb.failures];
  // A guest that never answered would only make the verifies wait for their timeouts.
  const alive = hb.ticks.length > 0;
  const mem = alive ? await verifyMemory(ip, before) : { memBad: null, failure: undefined };
  const disk = alive
    ? await verifyDisk(ip, before)
    : { ackChecked: null, blocksChecked: null, failure: undefined };
  for (const f of [mem.failure, disk.failure]) if (f) failures.push(f);
  let text = '';
  try {
    text = await readConsole(o);
  } catch (e) {
    failures.push(`could not read the guest's console: ${errorText(e)}`);
  }
  const scan = scanConsole(text);
  if (scan.hits.length)
    failures.push(`the guest's console shows ${scan.hits.length} sign(s) of trouble, first: ${scan.hits[0]}`);
  const watchedMs = hb.lastSampleAt - switchoverAt;
  if (watchedMs < watchMs) failures.push(`watched only ${watchedMs} ms after the switchover, not ${watchMs}`);
  const summary = [
    !alive ? 'NO ANSWER' : hb.sameBoot ? 'same boot' : 'REBOOTED',
    `${scan.hits.length ? `${scan.hits.length} oops/panic lines` : 'no oops'} in ${(watchedMs / 1000).toFixed(1)} s`,
    `heartbeat ${before.tick} -> ${hb.ticks.at(-1) ?? '?'} (${hb.ticks.length} samples)`,
    mem.memBad === null
      ? alive && before.memRunning
        ? 'mem-verify not answered'
        : 'no memory dirtier'
      : `mem-verify ${mem.memBad} bad`,
    disk.ackChecked === null
      ? 'no disk writer'
      : `${disk.ackChecked} disk acks ${disk.failure ? 'NOT intact' : 'intact'} (${disk.blocksChecked ?? '?'} blocks checked)`,
  ].join(', ');
  return {
    ok: failures.length === 0,
    failures,
    consoleLines: scan.context,
    watchedMs,
    sameBoot: alive && hb.sameBoot,
    ticks: hb.ticks,
    memBad: mem.memBad,
    diskAckChecked: disk.ackChecked,
    diskBlocksChecked: disk.blocksChecked,
    consoleBytes: Buffer.byteLength(text),
    summary,
  };
}

function readConsole(o: IntegrityOptions): Promise<string> {
  if (o.console) return o.console();
  if (!o.targetHost || !o.vm)
    throw new Error('checkGuestIntegrity needs targetHost and vm, or a console reader');
  return agentConsole(o.targetHost, o.vm);
}

/** `samples` status calls spread until `until` (at least 0.5 s apart): same boot, tick going up. */
async function sampleHeartbeat(
  ip: string,
  before: GuestSnapshot,
  switchoverAt: number,
  until: number,
  samples: number,
) {
  const failures: string[] = [];
  const ticks: number[] = [];
  let sameBoot = true;
  let lastSampleAt = Date.now();
  for (let i = 0; i < samples; i++) {
    // The last one lands just past `until` (timers may fire a millisecond early).
    if (i > 0)
      await sleep(Math.max(500, (until - Date.now()) / (samples - i)) + (i === samples - 1 ? 50 : 0));
    const s = await status(ip).catch((e: unknown) => errorText(e));
    lastSampleAt = Date.now();
    const at = `${((lastSampleAt - switchoverAt) / 1000).toFixed(1)} s after the switchover`;
    if (typeof s === 'string') {
      failures.push(`the guest did not answer status ${at}: ${s}`);
      continue;
    }
    if (s.boot_id !== before.bootId) {
      if (sameBoot)
        failures.push(
          `the guest rebooted: boot id ${before.bootId} before the move, ${s.boot_id} ${at} (uptime ${s.uptime_ms} ms)`,
        );
      sameBoot = false;
    } else if (s.uptime_ms < before.uptimeMs) {
      failures.push(`the guest's uptime went back from ${before.uptimeMs} to ${s.uptime_ms} ms`);
    }
    const prev = ticks.at(-1) ?? before.tick;
    if (s.tick <= prev) failures.push(`the heartbeat did not go on: tick ${prev}, then ${s.tick} ${at}`);
    ticks.push(s.tick);
  }
  return { failures, ticks, sameBoot, lastSampleAt };
}

async function verifyMemory(ip: string, before: GuestSnapshot) {
  if (!before.memRunning) return { memBad: null, failure: undefined };
  const r = (await guestCommand(ip, 'mem-verify', 60_000).catch((e: unknown) => ({
    ok: false,
    error: errorText(e),
  }))) as { ok: boolean; bad?: number; error?: string; first_bad?: number[] };
  if (r.ok && r.bad === 0) return { memBad: 0, failure: undefined };
  return {
    memBad: r.bad ?? null,
    failure:
      `mem-verify failed: ${r.bad ?? '?'} bad pages (first ${JSON.stringify(r.first_bad ?? [])}) ${r.error ?? ''}`.trim(),
  };
}

async function verifyDisk(ip: string, before: GuestSnapshot) {
  if (!before.diskDev || before.diskAck === 0)
    return { ackChecked: null, blocksChecked: null, failure: undefined };
  // MINACK: every block acked before the move must be there, whatever this boot's writer knows.
  const r = (await guestCommand(ip, `disk-verify ${before.diskAck}`, 120_000).catch((e: unknown) => ({
    ok: false,
    error: errorText(e),
  }))) as {
    ok: boolean;
    error?: string;
    checked?: number;
    missing?: number;
    corrupt?: number;
    lost_tail?: number;
  };
  const failure = r.ok
    ? undefined
    : `disk-verify of the acks up to ${before.diskAck} failed: ${r.missing ?? '?'} missing, ${r.corrupt ?? '?'} corrupt, ${r.lost_tail ?? '?'} lost at the tail ${r.error ?? ''}`.trim();
  return { ackChecked: before.diskAck, blocksChecked: r.checked ?? null, failure };
}

/** Thrown by expectGuestIntact: the failures and the console lines, ready to read in a test's output. */
export class GuestIntegrityError extends Error {
  constructor(readonly result: IntegrityResult) {
    super(formatFailure(result));
    this.name = 'GuestIntegrityError';
  }
}

export function formatFailure(r: IntegrityResult): string {
  return [
    `the guest did not survive the move intact (${r.summary}):`,
    ...r.failures.map((f) => `  - ${f}`),
    ...(r.consoleLines.length ? ['  console:', ...r.consoleLines.map((l) => `    | ${l}`)] : []),
  ].join('\n');
}

/** checkGuestIntegrity for tests: returns the result when the guest is intact, throws otherwise. */
export async function expectGuestIntact(o: IntegrityOptions): Promise<IntegrityResult> {
  const r = await checkGuestIntegrity(o);
  if (!r.ok) throw new GuestIntegrityError(r);
  return r;
}
