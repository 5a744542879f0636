// What a benchmark's libvirt daemon on a test-bed host is given and what it says back (pure):
// its libvirtd.conf (TCP without auth on the host's management address only, QEMU monitor
// traffic logged), its qemu.conf (root, TCG, no cgroups, no namespaces, console to files), the
// test guest's domain XML with its serial console in a file, and the parsers for what libvirt
// writes: QEMU's STOP/RESUME events with QEMU's own timestamps, and `virsh domjobinfo`.
import { exportDomainXml } from '../domain-xml/index.js';
import type { VmSpec } from '../protocol/vm-spec.js';

/** Inside the host's mount namespace these paths are the host's own (bind mounts). */
export const LIBVIRT_DIRS = {
  etc: '/etc/libvirt',
  run: '/run/libvirt',
  lib: '/var/lib/libvirt',
  cache: '/var/cache/libvirt',
  log: '/var/log/libvirt',
} as const;
export const LIBVIRTD_LOG = `${LIBVIRT_DIRS.log}/libvirtd.log`;

export function libvirtdConf(o: { listenAddress: string; hostUuid: string }): string {
  return [
    'listen_tls = 0',
    'listen_tcp = 1',
    `listen_addr = "${o.listenAddress}"`,
    'auth_tcp = "none"',
    'auth_unix_rw = "none"',
    `host_uuid = "${o.hostUuid}"`,
    // QEMU's events, with QEMU's own timestamps, are how the real pause is measured.
    'log_filters = "1:qemu.qemu_monitor 3:*"',
    `log_outputs = "1:file:${LIBVIRTD_LOG}"`,
    '',
  ].join('\n');
}

export function qemuConf(): string {
  return [
    'user = "root"',
    'group = "root"',
    'dynamic_ownership = 0',
    'remember_owner = 0',
    'security_driver = "none"',
    // A test-bed host is only a network + mount namespace: no cgroup of its own, no /dev to unshare.
    'cgroup_controllers = [ ]',
    'namespaces = [ ]',
    'stdio_handler = "file"',
    '',
  ].join('\n');
}

/** The domain as vmhop exports it, with the serial console in `serialPath` (the integrity check reads it). */
export function benchDomainXml(spec: VmSpec, o: { serialPath: string; diskPath?: string }): string {
  const xml = exportDomainXml(spec, {
    accel: 'tcg',
    diskPath: () => o.diskPath ?? '',
  });
  const serial =
    `<serial type="file"><source path="${o.serialPath}"/><target port="0"/></serial>` +
    `<console type="file"><source path="${o.serialPath}"/><target type="serial" port="0"/></console>`;
  const out = xml.replace(
    /<serial type='pty'>[\s\S]*?<\/serial>\s*<console type='pty'>[\s\S]*?<\/console>/,
    serial,
  );
  if (out === xml)
    throw new Error('benchDomainXml: the exported domain has no pty serial/console to replace');
  return out;
}

export interface MonitorEvent {
  event: string;
  /** QEMU's timestamp of the event, epoch ms. */
  atMs: number;
}

/** QEMU events in a libvirtd debug log (QEMU_MONITOR_RECV_EVENT lines), in log order. */
export function parseMonitorEvents(log: string, names: readonly string[]): MonitorEvent[] {
  const out: MonitorEvent[] = [];
  const re =
    /"timestamp":\s*\{\s*"seconds":\s*(\d+),\s*"microseconds":\s*(\d+)\s*\},\s*"event":\s*"([A-Z_]+)"/g;
  for (const line of log.split('\n')) {
    if (!line.includes('QEMU_MONITOR_RECV_EVENT')) continue;
    for (const m of line.matchAll(re)) {
      const event = m[3] as string;
      if (names.includes(event)) out.push({ event, atMs: Number(m[1]) * 1000 + Number(m[2]) / 1000 });
    }
  }
  return out;
}

/** `virsh domjobinfo` output as a map of its field names to their text values. */
export function parseJobInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z][A-Za-z ]*?):\s+(.*)$/.exec(line.trim());
    if (m) out[m[1] as string] = (m[2] as string).trim();
  }
  return out;
}

/** A domjobinfo size ("123.456 MiB", "1.2 GiB", "4096 B") in bytes; NaN when absent. */
export function jobInfoBytes(value: string | undefined): number {
  const m = /^([\d.]+)\s*(B|KiB|MiB|GiB|TiB)$/.exec(value ?? '');
  if (!m) return NaN;
  const unit = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 }[m[2] as 'B'];
  return Number(m[1]) * unit;
}
