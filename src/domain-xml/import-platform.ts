// The domain-level settings VmSpec has no field for: <features>, <clock>, the on_* lifecycle
// actions and <pm>. What matches how vmhop runs QEMU anyway (ACPI, APIC, a UTC clock, power
// off = stop, reboot = restart, no guest suspend) is accepted quietly; anything else is named.
import type { Warnings } from './warnings.js';
import type { XmlElement } from './xml-tree.js';

/** Features every x86 QEMU machine vmhop starts has. */
const BUILT_IN_FEATURES = new Set(['acpi', 'apic', 'pae']);
/** What vmhop's QEMU does on each lifecycle event. */
const LIFECYCLE: Record<string, string> = {
  on_poweroff: 'destroy',
  on_reboot: 'restart',
  on_crash: 'destroy',
};

export function isPlatformElement(name: string): boolean {
  return name === 'features' || name === 'clock' || name === 'pm' || Object.hasOwn(LIFECYCLE, name);
}

export function importPlatform(el: XmlElement, w: Warnings): void {
  switch (el.name) {
    case 'features':
      for (const f of el.children) if (!BUILT_IN_FEATURES.has(f.name)) w.leftOut(f, { within: '<features>' });
      return;
    case 'clock':
      return importClock(el, w);
    case 'pm':
      // vmhop's guests cannot suspend to RAM or disk; a <pm> that disables both asks for the same.
      for (const s of el.children) if (s.attrs.enabled !== 'no') w.leftOut(s, { within: '<pm>' });
      return;
    default:
      if (el.text !== LIFECYCLE[el.name]) {
        w.add(`<${el.name}>${el.text}</${el.name}> is not supported: vmhop does '${LIFECYCLE[el.name]}'`);
      }
  }
}

function importClock(el: XmlElement, w: Warnings): void {
  const offset = el.attrs.offset ?? 'utc';
  if (offset !== 'utc') {
    w.add(`<clock offset='${offset}'> is not supported: the guest's hardware clock runs in UTC`);
  }
  const timers = el.children.filter((c) => c.name === 'timer').map((t) => t.attrs.name ?? '?');
  if (timers.length > 0) {
    w.add(`<clock> timers (${timers.join(', ')}) are not supported and were left out: QEMU's defaults apply`);
  }
  for (const c of el.children) if (c.name !== 'timer') w.leftOut(c, { within: '<clock>' });
}
