// Virtual machines of one host or of all hosts, following state changes live (SSE), with
// their actions, details, console and the create form.
import { useRef, useState } from 'react';
import type { VmInfo } from '../../../protocol/vm.js';
import { hostNames, useConnections } from '../../api/connections.js';
import { useAgentEvents } from '../../api/events.js';
import { agent } from '../../api/http.js';
import { useData } from '../../api/use-data.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { CreateVmForm } from './CreateVmForm.js';
import { VmRow } from './VmRow.js';

export interface HostVms {
  host: string;
  vms: VmInfo[];
  error?: unknown;
}

export async function loadAllVms(hosts: string[]): Promise<HostVms[]> {
  return Promise.all(
    hosts.map((host) =>
      agent<{ vms: VmInfo[] }>(host, 'GET', '/v1/vms').then(
        (r) => ({ host, vms: r.vms }),
        (error: unknown) => ({ host, vms: [], error }),
      ),
    ),
  );
}

export function VmsPage() {
  const conns = useConnections();
  const hosts = hostNames(conns);
  const [filter, setFilter] = useState('');
  const [creating, setCreating] = useState(false);
  const shown = filter ? hosts.filter((h) => h === filter) : hosts;
  const all = useData(() => loadAllVms(hosts), [hosts.join(',')]);
  const timer = useRef<number>(undefined);
  useAgentEvents(hosts, (_h, e) => {
    if (e.type === 'job.progress' || e.type === 'vm.progress') return;
    // Several events arrive together around a start or a migration: one reload for all.
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(all.reload, 150);
  });
  const rows = (all.data ?? []).filter((h) => shown.includes(h.host));
  const count = rows.reduce((n, h) => n + h.vms.length, 0);
  return (
    <section aria-labelledby="vms-title">
      <div className="page-head">
        <h1 id="vms-title">Virtual machines</h1>
        <label className="inline">
          Host
          <select value={filter} onChange={(e) => setFilter(e.target.value)}>
            <option value="">All hosts</option>
            {hosts.map((h) => (
              <option key={h}>{h}</option>
            ))}
          </select>
        </label>
        <button type="button" className="primary" onClick={() => setCreating(true)} disabled={!hosts.length}>
          Create VM
        </button>
      </div>
      <ErrorNote error={conns.error ?? all.error} />
      {rows.map((h) =>
        h.error ? <ErrorNote key={h.host} error={h.error} label={`Host ${h.host}`} /> : null,
      )}
      {all.data && count === 0 && <p>No virtual machines {filter ? `on ${filter}` : 'yet'}.</p>}
      {count > 0 && (
        <table className="vms">
          <caption className="sr-only">Virtual machines{filter ? ` on ${filter}` : ' on all hosts'}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Host</th>
              <th scope="col">State</th>
              <th scope="col">vCPUs</th>
              <th scope="col">Memory</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          {rows.flatMap((h) =>
            h.vms.map((vm) => (
              <VmRow
                key={`${h.host}/${vm.name}`}
                host={h.host}
                vm={vm}
                hosts={hosts}
                onChanged={all.reload}
              />
            )),
          )}
        </table>
      )}
      {creating && (
        <CreateVmForm
          hosts={hosts}
          defaultHost={filter || hosts[0] || ''}
          allVms={all.data ?? []}
          onClose={() => setCreating(false)}
          onCreated={all.reload}
        />
      )}
    </section>
  );
}
