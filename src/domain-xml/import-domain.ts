// libvirt domain XML (/etc/libvirt/qemu/NAME.xml, as virt-install and virt-manager write it)
// to a VmSpec plus a warning for every element vmhop does not carry over. Pure: the host's
// pools and networks come in through `ctx`. Each child of <domain> is visited exactly once,
// in document order; the parts live in import-os, import-cpu, import-devices, import-platform.
import type { VmSpec } from '../protocol/vm-spec.js';
import type { DeviceLookup } from './import-devices.js';
import { importDevices } from './import-devices.js';
import { importCpu, importVcpus, PORTABLE_CPU_MODEL } from './import-cpu.js';
import { importOs, QEMU_DEFAULT_MACHINE } from './import-os.js';
import { importPlatform, isPlatformElement } from './import-platform.js';
import { toMiB } from './memory-units.js';
import { validateSpec } from './validate-spec.js';
import { Warnings } from './warnings.js';
import { child, childAttr, parseXml, xmlInvalid, type XmlElement } from './xml-tree.js';

export interface ImportContext extends DeviceLookup {
  /** Whether this host has KVM; a type='kvm' domain runs with TCG when it has not. */
  kvmAvailable: boolean;
}

export interface ImportResult {
  spec: VmSpec;
  warnings: string[];
}

/** libvirt's host-side bookkeeping: security labels and the cgroup partition of the old host. */
const HOST_BOOKKEEPING = new Set(['seclabel', 'resource']);

/** Reads <domain>'s children in document order, so the warnings read like the file. */
export function importDomainXml(xml: string, ctx: ImportContext): ImportResult {
  const domain = parseXml(xml, 'domain');
  const w = new Warnings();
  checkDomainType(domain, ctx, w);
  const name = required(domain, 'name').text;
  const uuid = normalizeUuid(required(domain, 'uuid').text);
  const os = required(domain, 'os');
  const memoryMiB = importMemory(required(domain, 'memory'), child(domain, 'currentMemory'), w);
  const machine = childAttr(os, 'type', 'machine') ?? QEMU_DEFAULT_MACHINE;
  const draft: Partial<VmSpec> = {};
  for (const el of domain.children) {
    switch (el.name) {
      case 'name':
      case 'uuid':
      case 'memory':
      case 'currentMemory':
        break; // read above

      case 'vcpu':
        draft.vcpus = importVcpus(el, w);
        break;
      case 'os':
        Object.assign(draft, importOs(el, w));
        break;
      case 'cpu':
        draft.cpuModel = importCpu(el, w);
        break;
      case 'devices':
        Object.assign(draft, importDevices(el, machine, ctx, w));
        break;
      default:
        if (isPlatformElement(el.name)) importPlatform(el, w);
        else if (!HOST_BOOKKEEPING.has(el.name)) w.leftOut(el);
    }
  }
  const spec = validateSpec({
    name,
    uuid,
    vcpus: draft.vcpus ?? 1, // libvirt's default
    memoryMiB,
    machine: draft.machine ?? machine,
    cpuModel: draft.cpuModel ?? PORTABLE_CPU_MODEL, // no <cpu>: libvirt runs QEMU's default model, this one
    boot: draft.boot ?? { kind: 'disk' },
    disks: draft.disks ?? [],
    nics: draft.nics ?? [],
    vnc: draft.vnc ?? false,
  });
  return { spec, warnings: w.list() };
}

function checkDomainType(domain: XmlElement, ctx: ImportContext, w: Warnings): void {
  const type = domain.attrs.type;
  if (type !== 'kvm' && type !== 'qemu') {
    throw xmlInvalid(
      `<domain type='${type ?? ''}'> is not supported; vmhop runs QEMU domains (type 'kvm' or 'qemu')`,
    );
  }
  if (type === 'kvm' && !ctx.kvmAvailable) {
    w.add(
      "<domain type='kvm'>: this host has no KVM, so the VM runs with TCG (software emulation, much slower)",
    );
  }
}

function required(domain: XmlElement, name: string): XmlElement {
  const el = child(domain, name);
  if (!el || (el.text === '' && el.children.length === 0)) {
    throw xmlInvalid(`the domain has no <${name}>`, { element: name });
  }
  return el;
}

/** libvirt accepts a UUID with or without dashes, in any case; VmSpec stores the dashed lower-case form. */
function normalizeUuid(raw: string): string {
  const hex = raw.replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) return raw; // VmSpec names it
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join('-');
}

function importMemory(memory: XmlElement, current: XmlElement | undefined, w: Warnings): number {
  const { mib, exact } = toMiB(memory.text, memory.attrs.unit, '<memory>');
  if (!exact) w.add(`<memory> is not a whole number of MiB: the VM gets ${mib} MiB`);
  if (current) {
    const cur = toMiB(current.text, current.attrs.unit, '<currentMemory>').mib;
    if (cur < mib) {
      w.add(
        `<currentMemory> (${cur} MiB) is below <memory> (${mib} MiB): vmhop has no balloon, so the VM gets all ${mib} MiB`,
      );
    }
  }
  return mib;
}
