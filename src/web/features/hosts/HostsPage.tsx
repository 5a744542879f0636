// Hosts: every connection of the hosts file with what its agent reports (QEMU, CPU models,
// free memory and disk, VM count), or why it cannot be reached; and "Add connection".
import { useConnections } from '../../api/connections.js';
import { HostCard } from './HostCard.js';
import { AddHostForm } from './AddHostForm.js';
import { ErrorNote } from '../../components/ErrorNote.js';

export function HostsPage() {
  const conns = useConnections();
  return (
    <section aria-labelledby="hosts-title">
      <h1 id="hosts-title">Hosts</h1>
      <ErrorNote error={conns.error} />
      {conns.data?.length === 0 && <p>No connections yet: add the agent of a host below.</p>}
      <ul className="cards" aria-label="Connections">
        {(conns.data ?? []).map((c) => (
          <HostCard key={c.name} name={c.name} url={c.url} onRemoved={conns.reload} />
        ))}
      </ul>
      <AddHostForm onAdded={conns.reload} />
    </section>
  );
}
