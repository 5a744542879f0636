import { describe, expect, it } from 'vitest';
import { VmSpec } from '../protocol/vm-spec.js';
import { guestCmdline, guestMac } from '../test-guest/spec.js';
import {
  benchDomainXml,
  jobInfoBytes,
  libvirtdConf,
  parseJobInfo,
  parseMonitorEvents,
} from './libvirt-config.js';

const spec = VmSpec.parse({
  name: 'bench-l',
  uuid: '6f0e6c1e-8c1a-4d7e-9a53-0d5e2f1b2c3d',
  memoryMiB: 256,
  machine: 'pc',
  boot: {
    kind: 'kernel',
    kernel: '/g/vmlinux',
    initrd: '/g/initrd.img',
    cmdline: guestCmdline({ ip: '10.77.0.43' }),
  },
  disks: [],
  nics: [{ mac: guestMac('10.77.0.43'), bridge: 'br0' }],
});

describe('libvirt bench config', () => {
  it('puts the serial console of the exported domain in a file', () => {
    const xml = benchDomainXml(spec, { serialPath: '/run/x/serial.log' });
    expect(xml).toContain('<serial type="file"><source path="/run/x/serial.log"/>');
    expect(xml).toContain('<console type="file">');
    expect(xml).not.toContain("type='pty'");
    expect(xml).toContain("<domain type='qemu'>");
  });

  it('listens on TCP without auth on the given address only', () => {
    const conf = libvirtdConf({ listenAddress: '10.99.0.12', hostUuid: 'u' });
    expect(conf).toMatch(/listen_tcp = 1/);
    expect(conf).toMatch(/listen_addr = "10.99.0.12"/);
    expect(conf).toMatch(/auth_tcp = "none"/);
  });

  it('reads STOP and RESUME with QEMU timestamps from a libvirtd debug log', () => {
    const log = [
      '2026-12-03 03:00:00.000+0000: 12: info : qemuMonitorJSONIOProcessLine:208 : QEMU_MONITOR_RECV_EVENT: mon=0x7f event={"timestamp": {"seconds": 1764730800, "microseconds": 250000}, "event": "STOP"}',
      '2026-12-03 03:00:00.000+0000: 12: info : qemuMonitorJSONIOProcessLine:208 : QEMU_MONITOR_RECV_EVENT: mon=0x7f event={"timestamp": {"seconds": 1764730800, "microseconds": 300000}, "event": "MIGRATION", "data": {"status": "completed"}}',
      'unrelated "event": "STOP" line',
      '2026-12-03 03:00:01.000+0000: 12: info : qemuMonitorJSONIOProcessLine:208 : QEMU_MONITOR_RECV_EVENT: mon=0x7f event={"timestamp": {"seconds": 1764730801, "microseconds": 5000}, "event": "RESUME"}',
    ].join('\n');
    expect(parseMonitorEvents(log, ['STOP', 'RESUME'])).toEqual([
      { event: 'STOP', atMs: 1764730800250 },
      { event: 'RESUME', atMs: 1764730801005 },
    ]);
  });

  it('reads domjobinfo fields and sizes', () => {
    const info = parseJobInfo(
      'Job type:         Completed\nTotal downtime:   312 ms\nMemory processed: 97.123 MiB\nMemory total:     256.000 MiB\n',
    );
    expect(info['Total downtime']).toBe('312 ms');
    expect(jobInfoBytes(info['Memory total'])).toBe(256 * 1048576);
    expect(jobInfoBytes(undefined)).toBeNaN();
  });
});
