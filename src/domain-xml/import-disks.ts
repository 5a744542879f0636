// <disk> elements to VmSpec disks: a file or block device inside a vmhop pool, qcow2 or raw,
// on virtio-blk. A disk vmhop cannot represent is an error, never a warning, because leaving
// out a disk loses the guest's data; removable media (cdrom, floppy) are left out with a warning.
// sata/scsi/ide/usb disks move to virtio under a new vdX name, with a warning naming both.
import type { DiskSpec } from '../protocol/vm-spec.js';
import { resolveVolumes, type DiskDraft, type VolumeLookup } from './disk-source.js';
import { describeElement, type Warnings } from './warnings.js';
import { child, xmlInvalid, type XmlElement } from './xml-tree.js';

const CACHE_MODES = new Set(['none', 'writeback', 'writethrough', 'directsync', 'unsafe']);
/** Children that vmhop maps, or that are libvirt's bookkeeping (alias) or read from the image itself (backingStore). */
const HANDLED = new Set([
  'driver',
  'source',
  'target',
  'readonly',
  'boot',
  'address',
  'alias',
  'backingStore',
]);

/**
 * Finishes the drafts of every <disk> once all are read (their vdX names depend on each other):
 * returns the disks in boot order, and counts their PCI addresses into `pci`.
 */
export function finishDisks(
  drafts: DiskDraft[],
  lookup: VolumeLookup,
  w: Warnings,
  pci: { addresses: number },
): DiskSpec[] {
  pci.addresses += drafts.filter((d) => child(d.el, 'address')?.attrs.type === 'pci').length;
  assignTargets(drafts, w);
  // vmhop boots disks in spec order (bootindex 1, 2, ...): disks with <boot order> go first.
  const last = Number.MAX_SAFE_INTEGER;
  const byBootOrder = [...drafts].sort((a, b) => (a.bootOrder ?? last) - (b.bootOrder ?? last));
  return resolveVolumes(byBootOrder, lookup);
}

/** Reads one <disk>; undefined for removable media, which is left out with a warning. */
export function draftDisk(el: XmlElement, w: Warnings): DiskDraft | undefined {
  const device = el.attrs.device ?? 'disk';
  if (device === 'cdrom' || device === 'floppy') {
    w.leftOut(el, { why: 'vmhop has no removable media; attach the image as a disk if the guest needs it' });
    return undefined;
  }
  const dev = child(el, 'target')?.attrs.dev;
  if (!dev) throw xmlInvalid(`${describeElement(el)} has no <target dev='...'>`);
  const name = `disk ${dev}`;
  if (device !== 'disk')
    throw xmlInvalid(`${name}: <disk device='${device}'> is not supported; vmhop attaches disks`);
  const path = sourcePath(el, name);
  const spec = driverSpec(el, name, w);
  for (const c of el.children) {
    if (!HANDLED.has(c.name)) {
      if (c.name === 'encryption') {
        throw xmlInvalid(
          `${name} is encrypted; vmhop cannot pass its secret: decrypt it with qemu-img convert first`,
        );
      }
      w.leftOut(c, { within: name });
    }
  }
  const order = child(el, 'boot')?.attrs.order;
  return {
    el,
    name,
    path,
    dev,
    bus: child(el, 'target')?.attrs.bus ?? busFromName(dev),
    target: '',
    spec: { ...spec, readOnly: child(el, 'readonly') !== undefined },
    ...(order !== undefined && /^\d+$/.test(order) ? { bootOrder: Number(order) } : {}),
  };
}

function sourcePath(el: XmlElement, name: string): string {
  const type = el.attrs.type ?? 'file';
  const attr = type === 'file' ? 'file' : type === 'block' ? 'dev' : undefined;
  if (!attr) {
    throw xmlInvalid(
      `${name}: <disk type='${type}'> is not supported; vmhop needs a file or block device in a pool`,
    );
  }
  const path = child(el, 'source')?.attrs[attr];
  if (!path) throw xmlInvalid(`${name} has no <source ${attr}='...'>`);
  return path;
}

function driverSpec(el: XmlElement, name: string, w: Warnings): Pick<DiskSpec, 'format' | 'bus' | 'cache'> {
  const { name: driverName, type, cache, ...rest } = child(el, 'driver')?.attrs ?? {};
  if (driverName !== undefined && driverName !== 'qemu') {
    throw xmlInvalid(`${name}: <driver name='${driverName}'> is not QEMU's`);
  }
  if (type !== undefined && type !== 'qcow2' && type !== 'raw') {
    throw xmlInvalid(
      `${name} is in format '${type}'; vmhop uses qcow2 and raw: convert it with qemu-img convert -O qcow2 and point the disk at the copy`,
    );
  }
  if (type === undefined) w.add(`${name}: <driver> names no type: the disk is read as raw, as libvirt does`);
  // No cache attribute (or 'default') means QEMU's default, writeback: keep what the guest had.
  const mode = cache === undefined || cache === 'default' ? 'writeback' : cache;
  if (!CACHE_MODES.has(mode))
    throw xmlInvalid(`${name}: <driver cache='${mode}'> is not a libvirt cache mode`);
  warnDriverExtras(rest, mode, name, w);
  return { format: type ?? 'raw', bus: 'virtio', cache: mode as DiskSpec['cache'] };
}

/** vmhop always opens disks with discard=unmap, and aio=native when the cache is O_DIRECT. */
function warnDriverExtras(rest: Record<string, string>, cache: string, name: string, w: Warnings): void {
  const direct = cache === 'none' || cache === 'directsync';
  const extras = Object.entries(rest).filter(
    ([k, v]) => !(k === 'discard' && v === 'unmap') && !(k === 'io' && v === 'native' && direct),
  );
  if (extras.length === 0) return;
  const attrs = extras.map(([k, v]) => ` ${k}='${v}'`).join('');
  w.add(`${name}: <driver${attrs}> is not supported and was left out`);
}

function busFromName(dev: string): string {
  if (dev.startsWith('vd')) return 'virtio';
  if (dev.startsWith('hd')) return 'ide';
  return 'scsi';
}

/** Keeps every vdX on virtio; moves the others to the first free vdX, in document order. */
function assignTargets(drafts: DiskDraft[], w: Warnings): void {
  const taken = new Set<string>();
  for (const d of drafts.filter((x) => x.bus === 'virtio' && /^vd[a-z]$/.test(x.dev))) {
    if (taken.has(d.dev)) throw xmlInvalid(`two disks use <target dev='${d.dev}'>`);
    taken.add(d.dev);
    d.target = d.dev;
  }
  for (const d of drafts.filter((x) => x.target === '')) {
    const letter = [...'abcdefghijklmnopqrstuvwxyz'].find((l) => !taken.has(`vd${l}`));
    if (!letter) throw xmlInvalid('the domain has more than 26 disks');
    d.target = `vd${letter}`;
    taken.add(d.target);
    w.add(
      `${d.name} (bus ${d.bus}) became ${d.target} on virtio: the guest needs virtio drivers and sees ` +
        `/dev/${d.target} instead of /dev/${d.dev}; mount by UUID or LABEL, not by device name`,
    );
  }
}
