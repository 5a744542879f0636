// `npm run demo`, the main job: a test bed of two hosts joined by a 100 Mbit/s migration
// link, the test guest (heartbeat, memory dirtier, disk writer, service) on host a with
// its disk on the shared pool, a live migration to b with the CLI's progress line, the
// guest's integrity check on b (a move counts only if the guest survived it: a failure is
// printed with its console lines and the demo exits non-zero), then the report: total time,
// downtime (vmhop's and QEMU's) and the gap the client saw, then each host's audit log.
// Everything is torn down at the end, also on failure or Ctrl-C.
import { join } from 'node:path';
import { execa } from 'execa';
import type { JobInfo } from '../protocol/migration.js';
import * as testbed from '../testbed/testbed.js';
import { guestCommand, startGapProbe, waitForGuest } from '../testbed/client.js';
import { checkGuestIntegrity, formatFailure, snapshotGuest } from '../testbed/integrity.js';
import { REPO_ROOT } from '../repo/paths.js';

const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const VM = 'demo1';
const IP = '10.77.0.5';
const say = (s: string) => process.stdout.write(`\ndemo: ${s}\n`);

/** Runs `vmhop ARGS` with its output shown, as an administrator would see it. */
async function vmhop(args: string[]): Promise<void> {
  process.stdout.write(`$ vmhop ${args.join(' ')}\n`);
  const r = await execa(process.execPath, [CLI, ...args], { stdio: 'inherit', reject: false });
  if (r.exitCode !== 0) throw new Error(`vmhop ${args.join(' ')} failed with exit ${r.exitCode}`);
}

async function lastJob(): Promise<JobInfo> {
  const r = await execa(process.execPath, [CLI, '--json', '-c', 'a', 'job', 'list']);
  const job = (JSON.parse(r.stdout) as { jobs: JobInfo[] }).jobs[0];
  if (!job) throw new Error('no migration job on host a');
  return job;
}

async function main(): Promise<void> {
  const onSignal = () => {
    say('interrupted; cleaning up');
    void testbed.down().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    say('bringing up the test bed: hosts a and b, a client, a 100 Mbit/s migration link, an agent per host');
    await testbed.down();
    await testbed.up({ hosts: ['a', 'b'], shaping: { rate: '100mbit' } });
    await vmhop(['testbed', 'status']);

    say('creating the test guest on host a, its disk on the shared pool, its workloads running');
    await vmhop([
      '-c',
      'a',
      'create',
      VM,
      '--test-guest',
      '--start',
      '--ip',
      IP,
      '--memory',
      '256',
      '--pool',
      'shared',
      '--disk',
      '256M',
      '--disk-writer',
      '--mem-dirty',
      '32',
    ]);
    const w = await waitForGuest(IP, 60_000);
    if (!w.ok) throw new Error('the guest service did not answer within 60 s');
    say(`the guest answers the client at ${IP}:7777: ${JSON.stringify(await guestCommand(IP, 'status'))}`);

    say('pre-flight, then the live migration a -> b (the client pings the guest all along)');
    await vmhop(['-c', 'a', 'migrate', VM, '--to', 'b', '--live', '--dry-run']);
    const before = await snapshotGuest(IP);
    const probe = startGapProbe(IP);
    let gaps;
    try {
      await vmhop(['-c', 'a', 'migrate', VM, '--to', 'b', '--live']);
    } finally {
      gaps = await probe.stop();
    }
    const job = await lastJob();
    const r = job.report;
    say(
      'checking the guest on b: same boot, heartbeat, memory, disk, console, for 10 s after the switchover',
    );
    const integrity = await checkGuestIntegrity({
      ip: IP,
      before,
      targetHost: 'b',
      vm: VM,
      switchoverAt: r?.resumedAt ?? Date.now(),
    });
    if (!integrity.ok) {
      say(`MIGRATION BROKE THE GUEST, although QEMU reported ${job.state}\n${formatFailure(integrity)}`);
      throw new Error('the guest did not survive the migration intact (see above)');
    }
    const after = (await guestCommand(IP, 'status')) as { tick: number; disk: { ack: number } };
    await vmhop(['-c', 'b', 'list']);
    say(
      [
        'report',
        `  total time          ${((r?.totalMs ?? 0) / 1000).toFixed(1)} s`,
        `  downtime (vmhop)    ${r?.downtimeMs ?? '-'} ms   (source paused -> target resumed)`,
        `  downtime (QEMU)     ${r?.qemuDowntimeMs ?? '-'} ms`,
        `  client-seen gap     ${gaps.maxGapMs} ms   (${gaps.ok}/${gaps.sent} pings answered)`,
        `  RAM sent            ${((r?.ramBytes ?? 0) / 1024 / 1024).toFixed(1)} MiB in ${r?.passes ?? '-'} passes, TLS ${r?.encrypted ? 'on' : 'off'}`,
        `  guest afterwards    tick ${after.tick}, disk ack ${after.disk.ack}, heartbeat went backwards: ${gaps.tickWentBackwards}`,
        `  integrity check     passed: ${integrity.summary}`,
      ].join('\n'),
    );
    say('who did what: the audit log of each host (the CLI with its token on a, agent a as peer on b)');
    await vmhop(['-c', 'a', 'audit']);
    await vmhop(['-c', 'b', 'audit']);
  } finally {
    await testbed.down();
    say('test bed removed');
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
