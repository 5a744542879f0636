// The fake QEMU's command line: what the agent's argv builder (src/agent/vm/argv.ts) and the
// capability probe (src/agent/host/capabilities.ts) pass, parsed as strictly as QEMU does: an
// option it does not know, or one without its value, ends the process with QEMU's wording.
// Only what the fake acts on is kept (monitors, pidfile, -S, -incoming, RAM size, accelerator).

export interface FakeQemuArgs {
  /** Unix socket paths of the QMP monitors (-chardev socket + -mon mode=control, or -qmp unix:). */
  monitors: string[];
  pidfile?: string;
  daemonize: boolean;
  /** -S: vCPUs stay stopped until `cont`. */
  startPaused: boolean;
  /** -incoming: `defer` (migrate-incoming says where) or a URI. */
  incoming?: string;
  ramBytes: number;
  accel: string;
  /** -chardev file paths (the serial log): created as QEMU creates them. */
  files: string[];
}

const WITH_VALUE = new Set([
  '-name', '-uuid', '-machine', '-M', '-cpu', '-smp', '-m', '-chardev', '-mon', '-serial', '-display',
  '-kernel', '-initrd', '-append', '-blockdev', '-device', '-netdev', '-incoming', '-pidfile', '-msg',
  '-qmp', '-accel', '-debugcon', '-global', '-vnc', '-object',
]); // prettier-ignore
const FLAGS = new Set(['-S', '-daemonize', '-nodefaults', '-no-user-config', '-no-shutdown']);

/** `a=1,b=2` -> { a: '1', b: '2' }; a leading bare word is `''`'s value (the backend or type). */
function keyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq === -1) out[''] ??= part;
    else out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

/** QEMU's -m: a number of MiB, or a number with a suffix. */
function ramBytesOf(text: string): number | undefined {
  const m = /^(\d+)([KMGT]?)B?$/i.exec(text.replace(/^size=/, ''));
  if (!m) return undefined;
  const shift = { '': 20, K: 10, M: 20, G: 30, T: 40 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'];
  return Number(m[1]) * 2 ** shift;
}

export function parseArgv(argv: string[]): { args: FakeQemuArgs } | { error: string } {
  const args: FakeQemuArgs = {
    monitors: [],
    daemonize: false,
    startPaused: false,
    ramBytes: 128 << 20,
    accel: 'tcg',
    files: [],
  };
  const sockets = new Map<string, string>();
  const monitorChardevs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const opt = argv[i]!;
    if (FLAGS.has(opt)) {
      if (opt === '-S') args.startPaused = true;
      if (opt === '-daemonize') args.daemonize = true;
      continue;
    }
    if (!WITH_VALUE.has(opt)) return { error: `${opt}: invalid option` };
    const value = argv[++i];
    if (value === undefined) return { error: `${opt}: requires an argument` };
    const kv = keyValues(value);
    switch (opt) {
      case '-m': {
        const bytes = ramBytesOf(value);
        if (bytes === undefined)
          return { error: `-m ${value}: Parameter 'size' expects a non-negative number below 2^64` };
        args.ramBytes = bytes;
        break;
      }
      case '-machine':
      case '-M':
        if (kv['accel']) args.accel = kv['accel'];
        break;
      case '-accel':
        args.accel = kv[''] ?? value;
        break;
      case '-chardev':
        if (kv[''] === 'socket' && kv['id'] && kv['path']) sockets.set(kv['id'], kv['path']);
        if (kv[''] === 'file' && kv['path']) args.files.push(kv['path']);
        break;
      case '-mon':
        if (kv['mode'] === 'control' && kv['chardev']) monitorChardevs.push(kv['chardev']);
        break;
      case '-qmp':
        if (!value.startsWith('unix:'))
          return { error: `-qmp ${value}: the fake QEMU serves QMP on unix sockets only` };
        args.monitors.push(keyValues(value.slice('unix:'.length))['']!);
        break;
      case '-pidfile':
        args.pidfile = value;
        break;
      case '-incoming':
        args.incoming = value;
        break;
    }
  }
  for (const id of monitorChardevs) {
    const path = sockets.get(id);
    if (!path) return { error: `-mon chardev=${id}: chardev "${id}" not found` };
    args.monitors.push(path);
  }
  return { args };
}
