// <os> to VmSpec's machine and boot: direct kernel boot when <kernel> is given, else the
// first disk. vmhop runs qemu-system-x86_64 with SeaBIOS, so another architecture or guest
// type is refused, and UEFI firmware or boot from cdrom/network is named in a warning.
import type { VmSpecInput } from '../protocol/vm-spec.js';
import { describeElement, type Warnings } from './warnings.js';
import { child, xmlInvalid, type XmlElement } from './xml-tree.js';

type BootInput = VmSpecInput['boot'];

/** Machine type libvirt uses when <type> names none: QEMU's default for x86_64. */
export const QEMU_DEFAULT_MACHINE = 'pc';

export function importOs(os: XmlElement | undefined, w: Warnings): { machine: string; boot: BootInput } {
  if (!os) throw xmlInvalid('the domain has no <os> element');
  const type = child(os, 'type');
  if (!type) throw xmlInvalid('<os> has no <type> element');
  if (type.text !== 'hvm') {
    throw xmlInvalid(`<os><type> is '${type.text}'; vmhop runs full virtualization guests ('hvm') only`);
  }
  const arch = type.attrs.arch;
  if (arch !== undefined && arch !== 'x86_64') {
    throw xmlInvalid(`<os><type arch='${arch}'> is not supported; vmhop runs x86_64 guests only`);
  }
  let machine = type.attrs.machine;
  if (machine === undefined) {
    machine = QEMU_DEFAULT_MACHINE;
    w.add(`<os><type> names no machine: the VM gets '${machine}', QEMU's default, as libvirt would give it`);
  }
  if (os.attrs.firmware) w.add(firmwareWarning(`<os firmware='${os.attrs.firmware}'>`));
  return { machine, boot: importBoot(os, w) };
}

function importBoot(os: XmlElement, w: Warnings): BootInput {
  const kernel = child(os, 'kernel');
  for (const el of os.children) {
    switch (el.name) {
      case 'type':
      case 'kernel':
        break;
      case 'initrd':
      case 'cmdline':
        if (!kernel) w.leftOut(el, { within: '<os>', why: 'it only applies with a <kernel>' });
        break;
      case 'boot':
        if (el.attrs.dev !== 'hd') w.leftOut(el, { within: '<os>', why: 'vmhop boots the first disk' });
        break;
      case 'loader':
      case 'nvram':
        w.add(firmwareWarning(`<os>${describeElement(el)}`));
        break;
      default:
        w.leftOut(el, { within: '<os>' });
    }
  }
  if (!kernel) return { kind: 'disk' };
  const initrd = child(os, 'initrd')?.text;
  const cmdline = child(os, 'cmdline')?.text;
  return {
    kind: 'kernel',
    kernel: kernel.text,
    ...(initrd ? { initrd } : {}),
    cmdline: cmdline ?? '',
  };
}

function firmwareWarning(what: string): string {
  return `${what} is not supported and was left out: vmhop boots with BIOS (SeaBIOS), so a guest installed for UEFI will not boot`;
}
