// libvirt XML at the agent: import (resolving each disk path to a pool volume of this
// host) and export (with this host's disk paths and accelerator). Path lookups are async
// (they resolve symlinks), the importer's are not: so the paths are gathered in a first
// pass and resolved before the real one. The converter (and its XML parser) is loaded at the
// first import or export: an agent that never sees libvirt XML does not carry it.
import { lstat } from 'node:fs/promises';
import type { VmInfo } from '../../protocol/vm.js';
import type { StorageService } from '../storage/storage-service.js';
import type { VmService } from './service.js';

export async function importXml(
  xml: string,
  deps: { storage: StorageService; vms: VmService; kvm: boolean },
): Promise<{ vm: VmInfo; warnings: string[] }> {
  const { importDomainXml } = await import('../../domain-xml/index.js');
  const paths = new Set<string>();
  try {
    importDomainXml(xml, {
      kvmAvailable: deps.kvm,
      findVolume: (p) => {
        paths.add(p);
        return { pool: 'probe', volume: 'probe' };
      },
    });
  } catch {
    // the second pass reports the same error with the real lookups
  }
  const found = new Map<string, { pool: string; volume: string }>();
  for (const p of paths) {
    const ref = await deps.storage.findByPath(p);
    if (ref) found.set(p, ref);
  }
  const { spec, warnings } = importDomainXml(xml, {
    kvmAvailable: deps.kvm,
    findVolume: (p) => found.get(p),
  });
  const vm = await deps.vms.define(spec);
  return { vm, warnings };
}

export async function exportXml(
  name: string,
  deps: { storage: StorageService; vms: VmService; accel: 'kvm' | 'tcg' },
): Promise<string> {
  const row = deps.vms.get(name);
  const { exportDomainXml } = await import('../../domain-xml/index.js');
  const paths: Record<string, string> = {};
  const blockDevices = new Set<string>();
  for (const d of row.spec.disks) {
    const p = await deps.storage.resolvePath(d.pool, d.volume);
    paths[d.target] = p;
    if ((await lstat(p).catch(() => undefined))?.isBlockDevice()) blockDevices.add(p);
  }
  return exportDomainXml(row.spec, {
    accel: deps.accel,
    diskPath: (d) => paths[d.target] as string,
    diskIsBlockDevice: (p) => blockDevices.has(p),
  });
}
