// One VM: a summary row, its actions, and (expanded) its details and console.
import { useState } from 'react';
import type { VmInfo } from '../../../protocol/vm.js';
import { StateBadge } from '../../components/StateBadge.js';
import { VmActions } from './VmActions.js';
import { VmDetails } from './VmDetails.js';

export function VmRow(props: { host: string; vm: VmInfo; hosts: string[]; onChanged: () => void }) {
  const { vm, host } = props;
  const [open, setOpen] = useState(false);
  const detailsId = `vm-details-${host}-${vm.name}`;
  return (
    <tbody className="vm" data-vm={vm.name} data-host={host} aria-label={`${vm.name} on ${host}`}>
      <tr>
        <th scope="row">
          <button
            type="button"
            className="link"
            aria-expanded={open}
            aria-controls={detailsId}
            onClick={() => setOpen(!open)}
          >
            <span aria-hidden="true">{open ? '▾' : '▸'}</span> {vm.name}
          </button>
        </th>
        <td data-label="Host">{host}</td>
        <td data-label="State">
          <StateBadge state={vm.state} />
        </td>
        <td data-label="vCPUs">{vm.spec.vcpus}</td>
        <td data-label="Memory">{vm.spec.memoryMiB} MiB</td>
        <td data-label="Actions">
          <VmActions host={host} vm={vm} hosts={props.hosts} onChanged={props.onChanged} />
        </td>
      </tr>
      {open && (
        <tr className="details-row">
          <td colSpan={6} id={detailsId}>
            <VmDetails host={host} vm={vm} />
          </td>
        </tr>
      )}
    </tbody>
  );
}
