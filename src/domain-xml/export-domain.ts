// VmSpec to a libvirt domain XML that `virsh define` accepts, so a VM can go back to libvirt.
// Pure: the host's disk paths and accelerator come in through `ctx`. Writes the devices vmhop
// actually gives the VM and turns off what libvirt would add by itself (USB, balloon), so the
// guest sees the same hardware under libvirt; importing the result gives the spec back.
import type { DiskSpec, NicSpec, VmSpec } from '../protocol/vm-spec.js';
import { el, renderXml, type XmlNode } from './xml-writer.js';

export interface ExportContext {
  /** The absolute host path of a disk's volume. */
  diskPath(disk: DiskSpec): string;
  /** Defaults to "is under /dev/", the rule vmhop's QEMU command line uses too. */
  diskIsBlockDevice?(path: string): boolean;
  accel: 'kvm' | 'tcg';
}

export function exportDomainXml(spec: VmSpec, ctx: ExportContext): string {
  const memKiB = spec.memoryMiB * 1024;
  const domain = el(
    'domain',
    { type: ctx.accel === 'kvm' ? 'kvm' : 'qemu' },
    el('name', {}, spec.name),
    el('uuid', {}, spec.uuid),
    el('memory', { unit: 'KiB' }, String(memKiB)),
    el('currentMemory', { unit: 'KiB' }, String(memKiB)),
    el('vcpu', { placement: 'static' }, String(spec.vcpus)),
    osNode(spec),
    cpuNode(spec.cpuModel),
    el('clock', { offset: 'utc' }),
    el('on_poweroff', {}, 'destroy'),
    el('on_reboot', {}, 'restart'),
    el('on_crash', {}, 'destroy'),
    el(
      'devices',
      {},
      ...spec.disks.map((d, i) => diskNode(d, i, ctx)),
      el('controller', { type: 'usb', model: 'none' }),
      ...spec.nics.map(nicNode),
      el('serial', { type: 'pty' }, el('target', { port: 0 })),
      el('console', { type: 'pty' }, el('target', { type: 'serial', port: 0 })),
      spec.vnc && el('graphics', { type: 'vnc', port: -1, autoport: 'yes', listen: '127.0.0.1' }),
      el('memballoon', { model: 'none' }),
    ),
  );
  return renderXml(domain);
}

function osNode(spec: VmSpec): XmlNode {
  const type = el('type', { arch: 'x86_64', machine: spec.machine }, 'hvm');
  if (spec.boot.kind === 'disk') return el('os', {}, type);
  const { kernel, initrd, cmdline } = spec.boot;
  return el(
    'os',
    {},
    type,
    el('kernel', {}, kernel),
    initrd !== undefined && el('initrd', {}, initrd),
    cmdline !== '' && el('cmdline', {}, cmdline),
  );
}

/** QEMU's 'host' and 'max' are libvirt CPU modes, not models. */
function cpuNode(model: string): XmlNode {
  if (model === 'host') return el('cpu', { mode: 'host-passthrough', check: 'none' });
  if (model === 'max') return el('cpu', { mode: 'maximum', check: 'none' });
  return el(
    'cpu',
    { mode: 'custom', match: 'exact', check: 'none' },
    el('model', { fallback: 'forbid' }, model),
  );
}

/** Boot order follows spec order, as vmhop's bootindex does. */
function diskNode(d: DiskSpec, index: number, ctx: ExportContext): XmlNode {
  const path = ctx.diskPath(d);
  const block = ctx.diskIsBlockDevice ? ctx.diskIsBlockDevice(path) : path.startsWith('/dev/');
  const direct = d.cache === 'none' || d.cache === 'directsync';
  return el(
    'disk',
    { type: block ? 'block' : 'file', device: 'disk' },
    // discard and aio=native are what vmhop's QEMU command line uses for every disk.
    el('driver', {
      name: 'qemu',
      type: d.format,
      cache: d.cache,
      io: direct ? 'native' : undefined,
      discard: 'unmap',
    }),
    el('source', block ? { dev: path } : { file: path }),
    el('target', { dev: d.target, bus: 'virtio' }),
    d.readOnly && el('readonly'),
    el('boot', { order: index + 1 }),
  );
}

function nicNode(n: NicSpec): XmlNode {
  return el(
    'interface',
    { type: 'bridge' },
    el('mac', { address: n.mac }),
    el('source', { bridge: n.bridge }),
    el('model', { type: 'virtio' }),
  );
}
