// `npm run soak -- N [--qemu PATH|7.2] [--force]`: N live migrations of ONE test guest (256 MiB,
// memory dirtier on 32 MiB, disk writer) back and forth between test-bed hosts a and b over a
// 100 Mbit/s link, each judged by the guest (src/testbed/integrity.ts: same boot, no oops for
// 10 s after the switchover, heartbeat, mem-verify, every disk block acked before the move).
// Not a test and not part of `npm test`: it prints one line per move and `N ok, M broken`.
//
// Storage, honestly: vmhop copies only local disks (--copy-storage) and cannot copy a disk off
// a shared pool live (it refuses, so a shared volume is never copied onto itself), so one guest
// cannot alternate freely between the two. The guest therefore starts with its 64 MiB disk on
// the local `default` pool: the first quarter of the moves (at least 2) are `--copy-storage
// all --delete-source` (NBD + mirror while the writer runs), the last of them with
// `--target-pool shared`, which copies the disk into the shared pool. The remaining moves
// cycle over shared storage: plain, `--parallel 2` (multifd), and post-copy after the first
// pass (`--postcopy --postcopy-after-precopy`). A broken move keeps the target's console in
// .cache/soak/; the soak goes on while the guest answers, else stops. Exit 0 only if all ok.
// `--qemu 7.2` stands for the wrapper scripts/qemu-7.2.sh prints; `--force` goes to every migrate.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { JobInfo } from '../src/protocol/migration.js';
import * as testbed from '../src/testbed/testbed.js';
import { waitForGuest } from '../src/testbed/client.js';
import {
  agentConsole,
  checkGuestIntegrity,
  formatFailure,
  snapshotGuest,
  type IntegrityResult,
} from '../src/testbed/integrity.js';
import { REPO_ROOT } from '../src/repo/paths.js';

const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const OUT_DIR = join(REPO_ROOT, '.cache', 'soak');
const VM = 'soak1';
const IP = '10.77.0.9';
/** One move, integrity watch included, must end within this; the CLI is killed and the job aborted after it. */
const MOVE_DEADLINE_MS = 300_000;
const SET_UP_MS = 180_000;
/** Names this soak's files in OUT_DIR apart from earlier soaks'. */
const RUN_ID = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');

interface Move {
  mode: string;
  flags: string[];
}

/**
 * The n-th move (1-based) of `total`: copy-storage first (see the header), then the shared
 * cycle. Until a move into the shared pool has succeeded, the disk is local: the move is a copy.
 */
export function moveFor(n: number, total: number, diskShared: boolean): Move {
  const copies = Math.max(2, Math.round(total / 4));
  if (!diskShared && n < copies)
    return { mode: 'copy-storage', flags: ['--copy-storage', 'all', '--delete-source'] };
  if (!diskShared)
    return {
      mode: 'copy-storage>shared',
      flags: ['--copy-storage', 'all', '--delete-source', '--target-pool', 'shared'],
    };
  const cycle: Move[] = [
    { mode: 'shared', flags: [] },
    { mode: 'parallel-2', flags: ['--parallel', '2'] },
    { mode: 'postcopy', flags: ['--postcopy', '--postcopy-after-precopy'] },
  ];
  return cycle[Math.max(0, n - copies - 1) % cycle.length]!;
}

function parseArgs(argv: string[]) {
  const n = Number(argv[0]);
  const qi = argv.indexOf('--qemu');
  const qemu = qi >= 0 ? argv[qi + 1] : undefined;
  if (!Number.isInteger(n) || n < 1 || (qi >= 0 && !qemu)) {
    process.stderr.write('usage: npm run soak -- N [--qemu PATH|7.2] [--force]\n');
    process.exit(2);
  }
  return { n, qemu, force: argv.includes('--force') };
}

const vmhop = (args: string[], timeoutMs = 120_000) =>
  execa(process.execPath, [CLI, '--json', ...args], { reject: false, timeout: timeoutMs });

async function createGuest(): Promise<void> {
  const r = await vmhop([
    ...['-c', 'a', 'create', VM, '--test-guest', '--start', '--ip', IP, '--memory', '256'],
    ...['--pool', 'default', '--disk', '64M', '--disk-writer', '--mem-dirty', '32'],
  ]);
  if (r.exitCode !== 0) throw new Error(`creating the guest failed: ${r.stdout} ${r.stderr}`);
  if (!(await waitForGuest(IP, 90_000)).ok) throw new Error('the guest service did not answer within 90 s');
}

interface Outcome {
  verdict: 'ok' | 'broken' | 'failed';
  job?: JobInfo;
  error?: string;
  integrity?: IntegrityResult;
}

async function oneMove(n: number, from: string, to: string, move: Move, force: boolean): Promise<Outcome> {
  const before = await snapshotGuest(IP);
  const r = await vmhop(
    ['-c', from, 'migrate', VM, '--to', to, '--live', ...move.flags, ...(force ? ['--force'] : [])],
    MOVE_DEADLINE_MS - 30_000,
  );
  let job: (JobInfo & { error?: { code: string; message: string } }) | undefined;
  try {
    job = JSON.parse(r.stdout) as JobInfo & { error?: { code: string; message: string } };
  } catch {
    job = undefined;
  }
  if (r.timedOut) await vmhop(['-c', from, 'domjobabort', VM]);
  const done = job?.state === 'completed';
  const error = done
    ? undefined
    : r.timedOut
      ? `no end within ${(MOVE_DEADLINE_MS - 30_000) / 1000} s: aborted`
      : `${job?.error?.code ?? `exit ${r.exitCode}`}: ${job?.error?.message ?? r.stderr.trim().slice(0, 300)}`;
  // After a timed-out move only the agents know where the guest runs.
  const host = done ? to : r.timedOut ? ((await runsOn()) ?? from) : from;
  const integrity = await checkGuestIntegrity({
    ip: IP,
    before,
    targetHost: host,
    vm: VM,
    switchoverAt: (done ? job?.report?.resumedAt : undefined) ?? Date.now(),
  });
  if (!integrity.ok) await keepConsole(n, host, integrity);
  const verdict = !integrity.ok ? 'broken' : done ? 'ok' : 'failed';
  return { verdict, ...(job ? { job } : {}), ...(error ? { error } : {}), integrity };
}

async function keepConsole(n: number, host: string, integrity: IntegrityResult): Promise<void> {
  const file = join(OUT_DIR, `${RUN_ID}-move-${n}-${host}-console.log`);
  const text = await agentConsole(host, VM).catch((e: unknown) => `console not readable: ${String(e)}\n`);
  await writeFile(
    file,
    `${formatFailure(integrity)}\n\n--- console of ${VM} on ${host} (this run) ---\n${text}`,
  );
  process.stdout.write(`${formatFailure(integrity)}\n  console kept in ${file}\n`);
}

function line(n: number, move: Move, from: string, to: string, o: Outcome): string {
  const rep = o.job?.report;
  const cols = [
    String(n).padStart(3),
    move.mode.padEnd(20),
    `${from}->${to}`,
    `${rep ? (rep.totalMs / 1000).toFixed(1) : '-'} s`.padStart(8),
    `${rep?.downtimeMs ?? '-'} ms`.padStart(9),
    o.verdict === 'ok' ? 'ok' : o.verdict === 'broken' ? 'BROKEN' : `FAILED (${o.error?.slice(0, 200)})`,
  ];
  return `${cols.join('  ')}  ${o.integrity?.summary ?? ''}`;
}

/** The test-bed host whose agent runs the VM now (after a timed-out move nothing else says). */
async function runsOn(): Promise<string | undefined> {
  for (const h of ['a', 'b']) {
    const r = await vmhop(['-c', h, 'list']);
    const vms =
      r.exitCode === 0 ? (JSON.parse(r.stdout) as { vms: { name: string; state: string }[] }).vms : [];
    if (vms.some((v) => v.name === VM && v.state === 'running')) return h;
  }
  return undefined;
}

async function soak(
  n: number,
  force: boolean,
): Promise<{ ok: number; broken: number; failed: number; stopped?: string }> {
  await createGuest();
  const tally = { ok: 0, broken: 0, failed: 0 };
  let where = 'a';
  let diskShared = false;
  for (let i = 1; i <= n; i++) {
    const move = moveFor(i, n, diskShared);
    const to = where === 'a' ? 'b' : 'a';
    const o = await oneMove(i, where, to, move, force);
    tally[o.verdict]++;
    process.stdout.write(`${line(i, move, where, to, o)}\n`);
    if (o.job?.state === 'completed' && move.mode === 'copy-storage>shared') diskShared = true;
    const now = await runsOn();
    if (!now || !(await waitForGuest(IP, 30_000)).ok)
      return {
        ...tally,
        stopped: `the guest no longer answers after move ${i} (runs on ${now ?? 'no host'})`,
      };
    where = now;
  }
  return tally;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const { n, force } = args;
  const qemu =
    args.qemu === '7.2'
      ? (await execa('bash', [join(REPO_ROOT, 'scripts', 'qemu-7.2.sh')])).stdout.trim().split('\n').pop()
      : args.qemu;
  await mkdir(OUT_DIR, { recursive: true });
  const onSignal = () => {
    process.stdout.write('\nsoak: interrupted; removing the test bed\n');
    void testbed.down().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // The whole soak is bounded too: set-up plus every move's deadline.
  const deadline = setTimeout(
    () => {
      process.stdout.write('\nsoak: over its overall deadline; removing the test bed\n');
      void testbed.down().finally(() => process.exit(3));
    },
    SET_UP_MS + n * MOVE_DEADLINE_MS,
  );
  deadline.unref();
  const t0 = Date.now();
  try {
    await testbed.down();
    await testbed.up({
      hosts: ['a', 'b'],
      shaping: { rate: '100mbit' },
      ...(qemu ? { qemuBinary: qemu } : {}),
    });
    process.stdout.write(
      `soak: ${n} live migrations of ${VM} between a and b, 100 Mbit/s link, QEMU ${qemu ?? 'qemu-system-x86_64 (PATH)'}${force ? ', --force' : ''}\n` +
        '  n  mode                  move     total  downtime  verdict  integrity\n',
    );
    const r = await soak(n, force);
    const extra = r.failed ? `, ${r.failed} failed to move (guest intact where it was)` : '';
    process.stdout.write(
      `${r.ok} ok, ${r.broken} broken${extra}${r.stopped ? `; STOPPED: ${r.stopped}` : ''} (${((Date.now() - t0) / 60_000).toFixed(1)} min)\n`,
    );
    if (r.broken || r.failed || r.stopped) process.exitCode = 1;
  } finally {
    await testbed.down();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`soak failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
