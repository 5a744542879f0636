// Walks every child of <devices>: disks, NICs and VNC map to the spec, the serial console is
// vmhop's own, parts built into every PC machine (root bus, PS/2 input, the chipset's disk
// controller) are accepted as they are, and each other device becomes a warning naming it.
// PCI addresses are not kept: one warning says so, because guest NIC names can follow them.
import type { DiskSpec, NicSpec } from '../protocol/vm-spec.js';
import { draftDisk, finishDisks } from './import-disks.js';
import { importNic, type NetworkLookup } from './import-nics.js';
import type { DiskDraft, VolumeLookup } from './disk-source.js';
import type { Warnings } from './warnings.js';
import { childAttr, type XmlElement } from './xml-tree.js';

export type DeviceLookup = VolumeLookup & NetworkLookup;

interface Walk {
  w: Warnings;
  machine: string;
  vnc: boolean;
  serial: boolean;
  pci: { addresses: number; controllers: number };
}

export function importDevices(
  devices: XmlElement | undefined,
  machine: string,
  lookup: DeviceLookup,
  w: Warnings,
): { disks: DiskSpec[]; nics: NicSpec[]; vnc: boolean } {
  const walk: Walk = { w, machine, vnc: false, serial: false, pci: { addresses: 0, controllers: 0 } };
  const drafts: DiskDraft[] = [];
  const nics: NicSpec[] = [];
  for (const el of devices?.children ?? []) {
    if (el.name === 'disk') {
      const d = draftDisk(el, w);
      if (d) drafts.push(d);
    } else if (el.name === 'interface') {
      nics.push(importNic(el, nics.length, lookup, w));
      if (childAttr(el, 'address', 'type') === 'pci') walk.pci.addresses += 1;
    } else {
      importOther(el, walk);
    }
  }
  const disks = finishDisks(drafts, lookup, w, walk.pci);
  warnPciLayout(walk.pci, w);
  return { disks, nics, vnc: walk.vnc };
}

function warnPciLayout({ addresses, controllers }: Walk['pci'], w: Warnings): void {
  const parts = [
    addresses > 0 ? `${addresses} device addresses` : '',
    controllers > 0 ? `${controllers} PCI controllers` : '',
  ].filter(Boolean);
  if (parts.length === 0) return;
  w.add(
    `the PCI layout (${parts.join(', ')}) is not kept: vmhop places devices itself, ` +
      'so names the guest derives from PCI slots (such as enp1s0) may change',
  );
}

function importOther(el: XmlElement, walk: Walk): void {
  const { w } = walk;
  const type = el.attrs.type;
  switch (el.name) {
    case 'emulator': // the QEMU binary of the old host; vmhop runs its own
      return;
    case 'graphics':
      return importGraphics(el, walk);
    case 'serial':
      return importSerial(el, walk);
    case 'console':
      // libvirt lists the first serial port twice, as <serial> and as <console>.
      if (type !== 'pty' || (childAttr(el, 'target', 'type') ?? 'serial') !== 'serial') w.leftOut(el);
      return;
    case 'controller':
      return importController(el, walk);
    case 'input':
      // The PC machine's own PS/2 keyboard and mouse; libvirt lists them, QEMU always has them.
      if ((type !== 'mouse' && type !== 'keyboard') || (el.attrs.bus ?? 'ps2') !== 'ps2') w.leftOut(el);
      return;
    case 'memballoon':
      if (el.attrs.model !== 'none') w.leftOut(el, { why: 'vmhop gives the VM all of its memory' });
      return;
    case 'audio':
      if (type !== 'none') w.leftOut(el);
      return;
    default:
      w.leftOut(el);
  }
}

function importGraphics(el: XmlElement, walk: Walk): void {
  const type = el.attrs.type;
  if (type === 'vnc') {
    walk.vnc = true;
    if (el.attrs.passwd !== undefined) {
      walk.w.add("<graphics type='vnc'> password was left out: vmhop's VNC listens on 127.0.0.1 only");
    }
    for (const c of el.children)
      if (c.name !== 'listen') walk.w.leftOut(c, { within: "<graphics type='vnc'>" });
  } else if (type === 'spice') {
    walk.vnc = true;
    walk.w.add("<graphics type='spice'> is not supported: the VM gets a VNC console instead");
  } else {
    walk.w.leftOut(el);
  }
}

function importSerial(el: XmlElement, walk: Walk): void {
  if (walk.serial) return walk.w.leftOut(el, { why: 'vmhop gives a VM one serial port' });
  walk.serial = true;
  if (el.attrs.type !== 'pty') {
    walk.w.add(
      `<serial type='${el.attrs.type ?? ''}'>: the guest keeps its serial port, but vmhop writes it to the VM's serial log instead`,
    );
  }
}

function importController(el: XmlElement, walk: Walk): void {
  const { type, model, index } = el.attrs;
  if (type === 'pci') {
    if (model !== 'pci-root' && model !== 'pcie-root') walk.pci.controllers += 1;
    return;
  }
  if (type === 'usb' && model === 'none') return;
  // The chipset's own disk controller: AHCI on q35, PIIX IDE on i440fx.
  const q35 = walk.machine.includes('q35');
  if ((index ?? '0') === '0' && ((q35 && type === 'sata') || (!q35 && type === 'ide'))) return;
  walk.w.leftOut(el);
}
