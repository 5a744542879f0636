// The fake QEMU process (see build.ts for how it becomes an executable): parses QEMU's command
// line, refuses KVM (the capability probe then says no at once), daemonizes as -daemonize does
// (the parent exits 0 once the child wrote its pidfile and listens on its monitors; the child's
// argv[0] is the executable's path, so /proc/PID/cmdline reads as a qemu-system's), then serves
// QMP until quit, a signal, or a failed incoming migration ends it. The pidfile and the
// monitors' sockets go on a normal exit, as QEMU removes them; SIGKILL leaves them behind.
import { spawn } from 'node:child_process';
import { closeSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { parseArgv } from './argv.js';
import { Machine } from './machine.js';
import { Monitor } from './monitor.js';

const PROG = 'qemu-system-x86_64';
const DAEMON_ENV = 'VMHOP_FAKE_QEMU_DAEMON';

/** QEMU's way out: the message on stderr (or to the waiting parent of -daemonize), status 1. */
function die(message: string): void {
  const text = `${PROG}: ${message}`;
  process.stderr.write(`${text}\n`);
  if (process.send && process.connected) process.send(text, () => process.exit(1));
  else process.exit(1);
}

/** -daemonize: the child serves; this parent waits for its word and exits with it. */
function daemonize(argv: string[]): void {
  const child = spawn(process.execPath, [process.argv[1]!, ...argv], {
    argv0: process.env['VMHOP_FAKE_QEMU_ARGV0'] ?? process.argv[1]!,
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: { ...process.env, [DAEMON_ENV]: '1' },
  });
  child.once('message', (m: unknown) => {
    if (m !== 'ready') die(String(m).replace(`${PROG}: `, ''));
    else process.exit(0);
  });
  child.once('exit', (code) => die(`the daemonized process exited (${code}) before it was ready`));
}

async function serve(argv: string[]): Promise<void> {
  const parsed = parseArgv(argv);
  if ('error' in parsed) return die(parsed.error);
  const args = parsed.args;
  const monitors: Monitor[] = [];
  let ending = false;
  const exit = (status: number) => {
    if (ending) return;
    ending = true;
    // After the reply or event being written: QEMU flushes its monitors before it exits.
    setImmediate(() => {
      vm.incoming.close();
      for (const m of monitors) m.close();
      if (args.pidfile) rmSync(args.pidfile, { force: true });
      process.exit(status);
    });
  };
  const vm = new Machine(args, (line) => monitors.forEach((m) => m.event(line)), exit);
  for (const path of args.monitors) monitors.push(new Monitor(path, vm.execute));
  for (const m of monitors) {
    const failed = await m.listen().then(
      () => undefined,
      (e: Error) => e.message,
    );
    if (failed) return die(`-chardev socket,path=${m.path}: Failed to bind socket: ${failed}`);
  }
  for (const file of args.files) closeSync(openSync(file, 'a'));
  if (args.pidfile) writeFileSync(args.pidfile, `${process.pid}\n`);
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const)
    process.on(signal, () => vm.shutdown(false, 'host-signal'));
  if (process.send) {
    process.send('ready');
    process.disconnect();
  }
}

const argv = process.argv.slice(2);
const accel = parseArgv(argv);
if ('args' in accel && accel.args.accel.split(':')[0] === 'kvm')
  die('failed to initialize kvm: the fake QEMU runs TCG only');
if ('args' in accel && accel.args.daemonize && !process.env[DAEMON_ENV]) daemonize(argv);
else void serve(argv);
