// A client of the test guest's control service, run inside the test bed's client
// namespace (`nsenter --net=/run/netns/vmhop-client node scripts/guest-probe.mjs ...`).
// Plain JS with no dependencies: it must run in any namespace without a build.
//   cmd  IP PORT "COMMAND"            one request, prints the reply line (JSON)
//   wait IP PORT TIMEOUT_MS           polls `ping` until it answers; prints the wait
//   gaps IP PORT DURATION_MS [INTERVAL_MS]  pings for a bounded time (or until SIGTERM); prints the longest gap
import net from 'node:net';

const [mode, host, portText, arg, arg2] = process.argv.slice(2);
const port = Number(portText);

function request(line, timeoutMs) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no reply to "${line}" from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(line + '\n'));
    sock.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        sock.destroy();
        resolve(buf.slice(0, nl));
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  if (mode === 'cmd') {
    process.stdout.write((await request(arg, Number(arg2 ?? 60_000))) + '\n');
  } else if (mode === 'wait') {
    const start = Date.now();
    const deadline = start + Number(arg ?? 30_000);
    let lastError = '';
    for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
      try {
        const reply = JSON.parse(await request('ping', 1_000));
        process.stdout.write(JSON.stringify({ ok: true, waitedMs: Date.now() - start, reply }) + '\n');
        return;
      } catch (e) {
        lastError = e.message;
        await sleep(100);
      }
    }
    process.stdout.write(
      JSON.stringify({ ok: false, waitedMs: Date.now() - start, error: lastError }) + '\n',
    );
    process.exitCode = 1;
  } else if (mode === 'gaps') {
    const duration = Number(arg);
    const interval = Number(arg2 ?? 20);
    const start = Date.now();
    let last = start;
    let maxGapMs = 0;
    let gapEndedAt = 0;
    let sent = 0;
    let ok = 0;
    let lastTick = -1;
    let tickWentBackwards = false;
    // SIGTERM ends the run early and still prints the report (used to cover "the migration").
    let stopped = false;
    process.once('SIGTERM', () => (stopped = true));
    while (!stopped && Date.now() - start < duration && sent < 100_000) {
      sent++;
      try {
        // A short timeout: a ping lost in the switchover is retried at once on a new
        // connection instead of waiting for TCP's 1 s SYN retransmit, so the gap is measured
        // at ~250 ms resolution rather than rounded up to TCP's timers.
        const reply = JSON.parse(await request('ping', 250));
        const now = Date.now();
        if (now - last > maxGapMs) {
          maxGapMs = now - last;
          gapEndedAt = now;
        }
        last = now;
        ok++;
        if (typeof reply.tick === 'number') {
          if (reply.tick < lastTick) tickWentBackwards = true;
          lastTick = reply.tick;
        }
      } catch {
        // a failed ping is part of a gap; the next success closes it
      }
      await sleep(interval);
    }
    maxGapMs = Math.max(maxGapMs, Date.now() - last);
    // gapEndedAt (epoch ms) lets a caller place the longest gap against the switchover.
    process.stdout.write(
      JSON.stringify({ sent, ok, maxGapMs, gapEndedAt, lastTick, tickWentBackwards }) + '\n',
    );
  } else {
    process.stderr.write('usage: guest-probe.mjs cmd|wait|gaps IP PORT ...\n');
    process.exitCode = 2;
  }
}

main().catch((e) => {
  process.stderr.write(`guest-probe: ${e.message}\n`);
  process.exitCode = 1;
});
