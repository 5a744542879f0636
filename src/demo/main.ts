// `npm run demo`: the main job on this machine's test bed. Brings the test bed up, boots
// the test guest on host a, shows it answering from the client namespace and its
// heartbeat, then tears everything down (also on failure or Ctrl-C).
import { readFile } from 'node:fs/promises';
import * as testbed from '../testbed/testbed.js';
import { launchGuest, stopGuest, type LaunchedGuest } from '../testbed/guest.js';
import { guestCommand, measureGaps, waitForGuest } from '../testbed/client.js';

const say = (s: string) => process.stdout.write(`demo: ${s}\n`);

async function main(): Promise<void> {
  let guest: LaunchedGuest | undefined;
  const onSignal = () => {
    say('interrupted; cleaning up');
    void testbed.down().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    say('bringing up the test bed (hosts a and b, a client, a 100 Mbit/s migration link)');
    await testbed.down();
    await testbed.up({ hosts: ['a', 'b'], shaping: { rate: '100mbit' } });
    const a = await testbed.hostOf('a');
    say(`booting the test guest on host a (${a.mgmtAddress}) with TCG`);
    const t0 = Date.now();
    guest = await launchGuest(a, { name: 'demo', memoryMiB: 256, workload: { ip: '10.77.0.5' } });
    const w = await waitForGuest(guest.ip, 60_000);
    if (!w.ok)
      throw new Error(`the guest's service did not answer within 60 s (serial log: ${guest.serialLog})`);
    say(
      `guest service at ${guest.ip}:7777 answered the client after ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    say(`status: ${JSON.stringify(await guestCommand(guest.ip, 'status'))}`);
    const gaps = await measureGaps(guest.ip, 2_000, 50);
    say(`2 s of pings from the client: ${gaps.ok}/${gaps.sent} answered, longest gap ${gaps.maxGapMs} ms`);
    const ticks = (await readFile(guest.serialLog, 'utf8')).split('\n').filter((l) => l.startsWith('tick '));
    say(`heartbeat on the serial console: ${ticks.slice(-3).join(', ')}`);
  } finally {
    if (guest) await stopGuest(guest);
    await testbed.down();
    say('test bed removed');
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
