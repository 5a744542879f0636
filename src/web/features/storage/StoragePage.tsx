// Storage: each host's pools (kind, path, usage) with their volumes, and forms to create
// a pool (dir, shared, block) and a volume.
import { hostNames, useConnections } from '../../api/connections.js';
import type { PoolInfo } from '../../../protocol/storage.js';
import { agent } from '../../api/http.js';
import { useData } from '../../api/use-data.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { PoolCard } from './PoolCard.js';
import { CreatePoolForm } from './CreatePoolForm.js';

function HostPools({ host }: { host: string }) {
  const pools = useData(() => agent<{ pools: PoolInfo[] }>(host, 'GET', '/v1/pools'), [host]);
  return (
    <section className="panel" aria-labelledby={`pools-${host}`}>
      <h2 id={`pools-${host}`}>Host {host}</h2>
      <ErrorNote error={pools.error} />
      <ul className="cards" aria-label={`Pools on ${host}`}>
        {(pools.data?.pools ?? []).map((p) => (
          <PoolCard key={p.name} host={host} pool={p} onChanged={pools.reload} />
        ))}
      </ul>
      <CreatePoolForm host={host} onCreated={pools.reload} />
    </section>
  );
}

export function StoragePage() {
  const conns = useConnections();
  return (
    <section aria-labelledby="storage-title">
      <h1 id="storage-title">Storage</h1>
      <ErrorNote error={conns.error} />
      {hostNames(conns).map((h) => (
        <HostPools key={h} host={h} />
      ))}
    </section>
  );
}
