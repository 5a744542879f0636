// One host: reachable or not, and its QEMU, CPU models, memory, pools and VM count, and when its
// agent's certificate ends (with the renew command once fewer than 30 days remain).
import { useState } from 'react';
import type { HostInfo } from '../../../protocol/host.js';
import { agent, enc, request } from '../../api/http.js';
import { useAgentEvents } from '../../api/events.js';
import { useData } from '../../api/use-data.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { UsageBar } from '../../charts/UsageBar.js';
import { ConfirmDialog } from '../../components/ConfirmDialog.js';

export function HostCard(props: { name: string; url: string; onRemoved: () => void }) {
  const info = useData(() => agent<HostInfo>(props.name, 'GET', '/v1/host'), [props.name]);
  const [removing, setRemoving] = useState(false);
  useAgentEvents([props.name], (_h, e) => {
    if (e.type === 'vm.defined' || e.type === 'vm.undefined' || e.type === 'resync') info.reload();
  });
  const h = info.data;
  const reachable = h && !info.error;
  const titleId = `host-${props.name}`;
  return (
    <li className="card" aria-labelledby={titleId}>
      <div className="card-head">
        <h2 id={titleId}>{props.name}</h2>
        <span className={`badge ${reachable ? 'state-running' : info.loading ? '' : 'state-crashed'}`}>
          {info.loading && !h ? 'checking…' : reachable ? 'reachable' : 'unreachable'}
        </span>
      </div>
      <p className="muted">{props.url}</p>
      {info.error && <ErrorNote error={info.error} />}
      {h && (
        <dl className="facts">
          <dt>QEMU</dt>
          <dd>
            {h.qemuVersion} ({h.accel})
          </dd>
          <dt>CPU</dt>
          <dd>
            {h.cpus} CPUs, {h.cpuModels.length} CPU models
          </dd>
          <dt>Memory</dt>
          <dd>
            <UsageBar
              label={`Memory of ${props.name}`}
              used={h.memoryTotalBytes - h.memoryFreeBytes}
              total={h.memoryTotalBytes}
            />
          </dd>
          {h.pools.map((p) => (
            <div key={p.name} className="fact-row">
              <dt>Pool {p.name}</dt>
              <dd>
                <UsageBar
                  label={`Pool ${p.name} on ${props.name}`}
                  used={p.capacityBytes - p.freeBytes}
                  total={p.capacityBytes}
                />
              </dd>
            </div>
          ))}
          <dt>VMs</dt>
          <dd>{h.vmCount}</dd>
          <dt>Migration</dt>
          <dd>{h.migrationAddress}</dd>
          <dt>Maintenance</dt>
          <dd>
            {h.maintenance ? `since ${h.maintenance.since.slice(0, 19)}Z (drained)` : 'no'} ·{' '}
            <a href={`#/drain/${enc(props.name)}`}>Drain</a>
          </dd>
          {h.certificate?.notAfter && (
            <div className="fact-row">
              <dt>Certificate</dt>
              <dd>
                until {h.certificate.notAfter.slice(0, 10)} ({h.certificate.daysLeft} days)
              </dd>
            </div>
          )}
        </dl>
      )}
      {h?.certificate?.warning && (
        <p role="alert" className="cert-warning">
          {h.certificate.warning}
        </p>
      )}
      <div className="buttons">
        <button type="button" onClick={info.reload}>
          Refresh
        </button>
        <button type="button" className="danger-outline" onClick={() => setRemoving(true)}>
          Remove connection
        </button>
      </div>
      {removing && (
        <ConfirmDialog
          title={`Remove connection ${props.name}?`}
          message="The host and its VMs stay as they are; only this connection is forgotten."
          confirmLabel="Remove"
          onClose={() => setRemoving(false)}
          onConfirm={async () => {
            await request('DELETE', `/api/hosts/${enc(props.name)}`);
            props.onRemoved();
          }}
        />
      )}
    </li>
  );
}
