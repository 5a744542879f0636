// One pool: usage, and (on demand) its volumes with a form to make one.
import { useState } from 'react';
import type { PoolInfo, VolumeInfo } from '../../../protocol/storage.js';
import { agent, enc } from '../../api/http.js';
import { useData } from '../../api/use-data.js';
import { UsageBar } from '../../charts/UsageBar.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { bytes } from '../../components/format.js';
import { CreateVolumeForm } from './CreateVolumeForm.js';

function Volumes({ host, pool, onChanged }: { host: string; pool: string; onChanged: () => void }) {
  const vols = useData(
    () => agent<{ volumes: VolumeInfo[] }>(host, 'GET', `/v1/pools/${enc(pool)}/volumes`),
    [host, pool],
  );
  const list = vols.data?.volumes ?? [];
  return (
    <div>
      <ErrorNote error={vols.error} />
      {list.length === 0 && vols.data && <p className="muted">No volumes.</p>}
      {list.length > 0 && (
        <div className="table-scroll">
          <table className="compact-table">
            <caption className="sr-only">
              Volumes of {pool} on {host}
            </caption>
            <thead>
              <tr>
                <th scope="col">Volume</th>
                <th scope="col">Format</th>
                <th scope="col">Size</th>
                <th scope="col">Allocated</th>
                <th scope="col">Backing</th>
              </tr>
            </thead>
            <tbody>
              {list.map((v) => (
                <tr key={v.name}>
                  <th scope="row">{v.name}</th>
                  <td>{v.format}</td>
                  <td>{bytes(v.virtualSizeBytes)}</td>
                  <td>{bytes(v.allocatedBytes)}</td>
                  <td className="wrap">{v.backingChain[0]?.path ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <CreateVolumeForm
        host={host}
        pool={pool}
        onCreated={() => {
          vols.reload();
          onChanged();
        }}
      />
    </div>
  );
}

export function PoolCard({ host, pool, onChanged }: { host: string; pool: PoolInfo; onChanged: () => void }) {
  const [open, setOpen] = useState(false);
  const id = `pool-${host}-${pool.name}`;
  return (
    <li className={open ? 'card expanded' : 'card'} aria-labelledby={`${id}-title`}>
      <div className="card-head">
        <h3 id={`${id}-title`}>{pool.name}</h3>
        <span className="badge">{pool.kind}</span>
      </div>
      <p className="muted wrap">{pool.path ?? pool.devices?.join(', ')}</p>
      <UsageBar
        label={`Usage of pool ${pool.name} on ${host}`}
        used={pool.capacityBytes - pool.freeBytes}
        total={pool.capacityBytes}
      />
      <p className="muted">
        {pool.volumeCount} volumes, {bytes(pool.allocationBytes)} allocated
      </p>
      <button type="button" aria-expanded={open} aria-controls={id} onClick={() => setOpen(!open)}>
        {open ? 'Hide volumes' : 'Show volumes'}
      </button>
      {open && (
        <div id={id}>
          <Volumes host={host} pool={pool.name} onChanged={onChanged} />
        </div>
      )}
    </li>
  );
}
