// <vcpu> and <cpu> to VmSpec's vcpus and cpuModel. A VM that moves between hosts needs a
// named CPU model both can provide: host-passthrough, host-model and maximum describe the
// host the VM happens to be on (and need KVM), so they become a named model with a warning.
import { describeElement, type Warnings } from './warnings.js';
import { child, childrenNamed, xmlInvalid, type XmlElement } from './xml-tree.js';

/** The model vmhop gives a VM whose CPU is "whatever the host has": runs under TCG and KVM alike. */
export const PORTABLE_CPU_MODEL = 'qemu64';

export function importVcpus(vcpu: XmlElement | undefined, w: Warnings): number {
  if (!vcpu) return 1; // libvirt's default
  const count = wholeNumber(vcpu.text, '<vcpu>');
  const current = vcpu.attrs.current;
  let online = count;
  if (current !== undefined && current !== vcpu.text) {
    online = wholeNumber(current, "<vcpu current='...'>");
    w.add(
      `<vcpu current='${current}'>${count}</vcpu>: vCPU hot-plug is not supported; the VM gets ${online} vCPUs`,
    );
  }
  if (vcpu.attrs.cpuset)
    w.add(`<vcpu cpuset='${vcpu.attrs.cpuset}'>: CPU pinning is not supported and was left out`);
  return online;
}

function wholeNumber(text: string, where: string): number {
  if (!/^\d+$/.test(text)) throw xmlInvalid(`${where} '${text}' is not a whole number`, { element: where });
  return Number(text);
}

export function importCpu(cpu: XmlElement | undefined, w: Warnings): string {
  if (!cpu) return PORTABLE_CPU_MODEL; // libvirt then runs QEMU's default model, which is this one
  const mode = cpu.attrs.mode ?? 'custom';
  const named = child(cpu, 'model')?.text || undefined;
  let model: string;
  if (mode === 'custom') {
    model = named ?? PORTABLE_CPU_MODEL;
  } else if (mode === 'host-model' && named) {
    model = named;
    w.add(
      `<cpu mode='host-model'> follows the host's CPU and cannot move between hosts: the VM gets its baseline model '${model}'`,
    );
  } else if (mode === 'host-passthrough' || mode === 'host-model' || mode === 'maximum') {
    model = PORTABLE_CPU_MODEL;
    w.add(
      `<cpu mode='${mode}'> gives the guest the host's own CPU, which needs KVM and cannot move between hosts ` +
        `with different CPUs: the VM gets the named model '${model}'; choose a model every host has ` +
        `(e.g. 'Skylake-Client-IBRS', 'EPYC') to give the guest more CPU features`,
    );
  } else {
    throw xmlInvalid(`<cpu mode='${mode}'> is not a libvirt CPU mode`);
  }
  warnUnmappedCpuChildren(cpu, w);
  return model;
}

function warnUnmappedCpuChildren(cpu: XmlElement, w: Warnings): void {
  const features = childrenNamed(cpu, 'feature').map((f) => `${f.attrs.policy ?? 'require'} ${f.attrs.name}`);
  if (features.length > 0) {
    w.add(
      `<cpu> features (${features.join(', ')}) are not supported and were left out: the guest sees the model as QEMU defines it`,
    );
  }
  for (const el of cpu.children) {
    if (el.name === 'model' || el.name === 'feature') continue;
    if (el.name === 'topology') {
      w.add(
        `<cpu>${describeElement(el)} is not supported and was left out: QEMU chooses the topology for the vCPU count`,
      );
    } else {
      w.leftOut(el, { within: '<cpu>' });
    }
  }
}
