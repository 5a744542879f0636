// What a VM is (CPU, memory, machine, boot, disks, NICs) and its serial console log, and,
// for a VM with a VNC display, a Console tab with its graphical console.
import type { VmInfo } from '../../../protocol/vm.js';
import { Tabs } from '../../components/Tabs.js';
import { ConsoleLog } from './ConsoleLog.js';
import { VncConsole } from './VncConsole.js';

export function VmDetails({ host, vm }: { host: string; vm: VmInfo }) {
  const overview = { id: 'overview', label: 'Overview', render: () => <Overview host={host} vm={vm} /> };
  if (!vm.spec.vnc) return <Overview host={host} vm={vm} />;
  const graphical = { id: 'console', label: 'Console', render: () => <VncConsole host={host} vm={vm} /> };
  return <Tabs label={`${vm.name} on ${host}`} tabs={[overview, graphical]} />;
}

function Overview({ host, vm }: { host: string; vm: VmInfo }) {
  const s = vm.spec;
  return (
    <div className="details">
      <dl className="facts">
        <dt>State</dt>
        <dd>
          {vm.state}
          {vm.qemuStatus ? ` (QEMU: ${vm.qemuStatus})` : ''}
          {vm.pid ? `, pid ${vm.pid}` : ''}
        </dd>
        <dt>CPU</dt>
        <dd>
          {s.vcpus} vCPU, model {s.cpuModel}, machine {s.machine}
        </dd>
        <dt>Memory</dt>
        <dd>{s.memoryMiB} MiB</dd>
        <dt>Boot</dt>
        <dd className="wrap">
          {s.boot.kind === 'kernel' ? `kernel ${s.boot.kernel} ${s.boot.cmdline}` : 'from disk'}
        </dd>
        <dt>Disks</dt>
        <dd>
          {s.disks.length === 0
            ? 'none'
            : s.disks.map((d) => (
                <div key={d.target}>
                  {d.target}: {d.pool}/{d.volume} ({d.format}, cache {d.cache}
                  {d.readOnly ? ', read-only' : ''})
                </div>
              ))}
        </dd>
        <dt>NICs</dt>
        <dd>
          {s.nics.length === 0
            ? 'none'
            : s.nics.map((n) => (
                <div key={n.mac}>
                  {n.mac} on {n.bridge} ({n.model})
                </div>
              ))}
        </dd>
        <dt>UUID</dt>
        <dd className="wrap">{vm.uuid}</dd>
      </dl>
      <ConsoleLog host={host} vm={vm.name} />
    </div>
  );
}
