// The QEMU command line, built from a typed VmSpec plus the host's resolved resources
// (pure: golden-tested). The agent never passes a user string to QEMU that the spec's
// patterns have not constrained; disks go in as -blockdev JSON so paths need no escaping.
// Node names (file-vda, drive-vda) are stable: migrations address disks by them.
import type { DiskSpec, VmSpec } from '../../protocol/vm-spec.js';

export interface HostResources {
  accel: 'tcg' | 'kvm';
  /** The QEMU binary (agent config `qemuBinary`); qemu-system-x86_64 from PATH when absent. */
  qemuBinary?: string;
  /** Absolute file or device path for each disk, by target (vda, ...). */
  diskPaths: Record<string, string>;
  /** Tap device for each NIC, in order. */
  taps: string[];
  /** Per-VM runtime folder: QMP socket, pidfile, serial log. */
  runDir: string;
  /** Start with vCPUs stopped (-S). */
  paused?: boolean;
  /** Wait for an incoming migration (-incoming defer; migrate-incoming says where). */
  incoming?: boolean;
  /** A second QMP monitor (tests sample run state through it without disturbing the agent). */
  observerMonitor?: boolean;
}

export const runFiles = (runDir: string) => ({
  qmp: `${runDir}/qmp.sock`,
  observer: `${runDir}/observer.sock`,
  pidfile: `${runDir}/qemu.pid`,
  serialLog: `${runDir}/serial.log`,
  /** Size of serial.log when the current QEMU was started: where its own output begins. */
  serialStart: `${runDir}/serial.start`,
  /** The VNC server of a `vnc: true` VM: a unix socket the agent's console route proxies,
   *  so no VNC port listens on TCP at all. */
  vnc: `${runDir}/vnc.sock`,
});

/** QEMU block cache flags and the guest-visible write cache for each libvirt cache mode. */
function cacheFlags(mode: DiskSpec['cache']): { direct: boolean; noFlush: boolean; writeCache: boolean } {
  switch (mode) {
    case 'none':
      return { direct: true, noFlush: false, writeCache: true };
    case 'writeback':
      return { direct: false, noFlush: false, writeCache: true };
    case 'writethrough':
      return { direct: false, noFlush: false, writeCache: false };
    case 'directsync':
      return { direct: true, noFlush: false, writeCache: false };
    case 'unsafe':
      return { direct: false, noFlush: true, writeCache: true };
  }
}

function diskArgs(d: DiskSpec, path: string, index: number): string[] {
  const c = cacheFlags(d.cache);
  const cache = { direct: c.direct, 'no-flush': c.noFlush };
  const isDevice = path.startsWith('/dev/');
  const file = {
    driver: isDevice ? 'host_device' : 'file',
    filename: path,
    'node-name': `file-${d.target}`,
    cache,
    ...(c.direct ? { aio: 'native' } : {}),
    'auto-read-only': true,
    discard: 'unmap',
  };
  const format = {
    driver: d.format,
    'node-name': `drive-${d.target}`,
    file: `file-${d.target}`,
    cache,
    'read-only': d.readOnly,
    discard: 'unmap',
  };
  return [
    '-blockdev',
    JSON.stringify(file),
    '-blockdev',
    JSON.stringify(format),
    '-device',
    `virtio-blk-pci,drive=drive-${d.target},id=${d.target},bootindex=${index + 1},write-cache=${c.writeCache ? 'on' : 'off'}`,
  ];
}

export function buildArgv(spec: VmSpec, host: HostResources): string[] {
  const f = runFiles(host.runDir);
  const argv = [
    host.qemuBinary ?? 'qemu-system-x86_64',
    '-name',
    `guest=${spec.name},debug-threads=on`,
    '-uuid',
    spec.uuid,
    '-machine',
    `${spec.machine},accel=${host.accel}`,
    '-cpu',
    spec.cpuModel,
    '-smp',
    String(spec.vcpus),
    '-m',
    `${spec.memoryMiB}M`,
    '-nodefaults',
    '-no-user-config',
    '-chardev',
    `socket,id=qmp,path=${f.qmp},server=on,wait=off`,
    '-mon',
    'chardev=qmp,mode=control',
    ...(host.observerMonitor
      ? [
          '-chardev',
          `socket,id=observer,path=${f.observer},server=on,wait=off`,
          '-mon',
          'chardev=observer,mode=control',
        ]
      : []),
    '-chardev',
    `file,id=serial0,path=${f.serialLog},append=on`,
    '-serial',
    'chardev:serial0',
    // -nodefaults removes the display adapter too: VNC without one shows nothing.
    ...(spec.vnc ? ['-device', 'VGA,id=video0', '-vnc', `unix:${f.vnc}`] : ['-display', 'none']),
  ];
  if (spec.boot.kind === 'kernel') {
    argv.push('-kernel', spec.boot.kernel);
    if (spec.boot.initrd) argv.push('-initrd', spec.boot.initrd);
    if (spec.boot.cmdline) argv.push('-append', spec.boot.cmdline);
  }
  spec.disks.forEach((d, i) => {
    const path = host.diskPaths[d.target];
    if (!path) throw new RangeError(`no path resolved for disk ${d.target}`);
    argv.push(...diskArgs(d, path, i));
  });
  spec.nics.forEach((n, i) => {
    const tap = host.taps[i];
    if (!tap) throw new RangeError(`no tap device resolved for NIC ${i}`);
    argv.push(
      '-netdev',
      `tap,id=net${i},ifname=${tap},script=no,downscript=no`,
      '-device',
      `${n.model},netdev=net${i},mac=${n.mac},id=nic${i}`,
    );
  });
  if (host.paused || host.incoming) argv.push('-S');
  if (host.incoming) argv.push('-incoming', 'defer');
  argv.push('-pidfile', f.pidfile, '-daemonize', '-msg', 'timestamp=on');
  return argv;
}
