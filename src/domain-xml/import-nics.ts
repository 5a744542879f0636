// <interface> elements to VmSpec NICs: a virtio-net NIC on a Linux bridge, MAC kept.
// An interface vmhop cannot put on a bridge is an error, not a warning: a VM that arrives
// without its network looks healthy and is not. A libvirt network (type='network') maps to a
// bridge only when the caller knows which one; other NIC models become virtio with a warning.
import type { NicSpec } from '../protocol/vm-spec.js';
import type { Warnings } from './warnings.js';
import { child, childAttr, xmlInvalid, type XmlElement } from './xml-tree.js';

export interface NetworkLookup {
  /** The bridge that stands for libvirt network `network` on this host, if the caller knows one. */
  networkBridge?(network: string): string | undefined;
}

/** Children vmhop maps, or that are libvirt's bookkeeping: the host tap name (target) and alias. */
const HANDLED = new Set(['mac', 'source', 'model', 'address', 'target', 'alias']);

export function importNic(el: XmlElement, index: number, lookup: NetworkLookup, w: Warnings): NicSpec {
  const rawMac = childAttr(el, 'mac', 'address');
  if (!rawMac) throw xmlInvalid(`interface #${index + 1} has no <mac address='...'>`);
  const mac = rawMac.toLowerCase();
  const name = `interface ${mac}`;
  const bridge = bridgeOf(el, mac, lookup, w);
  const model = childAttr(el, 'model', 'type');
  if (model !== 'virtio') {
    w.add(
      `${name}: model ${model ?? '(none, libvirt picks one)'} became virtio-net: the guest needs the virtio-net ` +
        'driver and may give the NIC a new name',
    );
  }
  for (const c of el.children) if (!HANDLED.has(c.name)) w.leftOut(c, { within: name });
  return { mac, bridge, model: 'virtio-net-pci' };
}

function bridgeOf(el: XmlElement, mac: string, lookup: NetworkLookup, w: Warnings): string {
  const name = `interface ${mac}`;
  const type = el.attrs.type;
  if (type === 'bridge') {
    const bridge = childAttr(el, 'source', 'bridge');
    if (!bridge) throw xmlInvalid(`${name} has no <source bridge='...'>`);
    return bridge;
  }
  if (type === 'network') {
    const network = childAttr(el, 'source', 'network') ?? '';
    const bridge = lookup.networkBridge?.(network);
    if (bridge) {
      w.add(`${name}: libvirt network '${network}' became bridge '${bridge}'`);
      return bridge;
    }
    throw xmlInvalid(
      `${name} uses libvirt network '${network}', which vmhop does not manage; put the NIC on a bridge instead: ` +
        `<interface type='bridge'><source bridge='BRIDGE'/> (run virsh net-info ${network} to see the bridge libvirt made for it)`,
      { mac, network },
    );
  }
  const source = child(el, 'source');
  throw xmlInvalid(
    `${name}: <interface type='${type ?? ''}'> is not supported; vmhop attaches NICs to a Linux bridge ` +
      `(<interface type='bridge'>)${source?.attrs.dev ? `, e.g. one enslaving ${source.attrs.dev}` : ''}`,
  );
}
