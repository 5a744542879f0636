// libvirt domain XML <-> VmSpec: import what virt-install and virt-manager write to
// /etc/libvirt/qemu/NAME.xml, export a definition `virsh define` accepts. Pure functions;
// the agent supplies the host facts (pools, disk paths, KVM) through their contexts.
export { importDomainXml, type ImportContext, type ImportResult } from './import-domain.js';
export { exportDomainXml, type ExportContext } from './export-domain.js';
