// The history of migrations across hosts: each job as its source agent reports it (the
// target's record of the same job is left out, so a move shows once).
import type { JobInfo } from '../../../protocol/migration.js';
import { hostNames, useConnections } from '../../api/connections.js';
import { useAgentEvents } from '../../api/events.js';
import { agent } from '../../api/http.js';
import { useData } from '../../api/use-data.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { StateBadge } from '../../components/StateBadge.js';
import { bytes, duration } from '../../components/format.js';

export function MigrationsPage() {
  const conns = useConnections();
  const hosts = hostNames(conns);
  const jobs = useData(
    () =>
      Promise.all(
        hosts.map((h) =>
          agent<{ jobs: JobInfo[] }>(h, 'GET', '/v1/jobs').then(
            (r) => ({ host: h, jobs: r.jobs }),
            (error: unknown) => ({ host: h, jobs: [] as JobInfo[], error }),
          ),
        ),
      ),
    [hosts.join(',')],
  );
  useAgentEvents(hosts, (_h, e) => {
    if (e.type === 'job.ended' || e.type === 'resync') jobs.reload();
  });
  const rows = (jobs.data ?? [])
    .flatMap((h) => h.jobs.filter((j) => j.role === 'source').map((j) => ({ host: h.host, j })))
    .sort((a, b) => b.j.createdAt.localeCompare(a.j.createdAt));
  return (
    <section aria-labelledby="mig-title">
      <h1 id="mig-title">Migrations</h1>
      <p className="muted">Start one with Migrate on the Virtual machines page.</p>
      {(jobs.data ?? []).map(
        (h) => 'error' in h && <ErrorNote key={h.host} error={h.error} label={`Host ${h.host}`} />,
      )}
      {jobs.data && rows.length === 0 && <p>No migrations yet.</p>}
      {rows.length > 0 && (
        <table className="history">
          <caption className="sr-only">History of migrations</caption>
          <thead>
            <tr>
              <th scope="col">VM</th>
              <th scope="col">From → to</th>
              <th scope="col">Mode</th>
              <th scope="col">State</th>
              <th scope="col">Started</th>
              <th scope="col">Total</th>
              <th scope="col">Downtime</th>
              <th scope="col">RAM</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ host, j }) => (
              <tr key={j.id}>
                <th scope="row">
                  <a href={`#/jobs/${encodeURIComponent(host)}/${encodeURIComponent(j.id)}`}>{j.vm}</a>
                </th>
                <td data-label="From → to">
                  {host} → {j.peer}
                </td>
                <td data-label="Mode">{j.mode}</td>
                <td data-label="State">
                  <StateBadge state={j.state} />
                </td>
                <td data-label="Started">{new Date(j.createdAt).toLocaleString()}</td>
                <td data-label="Total">{duration(j.report?.totalMs)}</td>
                <td data-label="Downtime">{duration(j.report?.downtimeMs)}</td>
                <td data-label="RAM">{bytes(j.report?.ramBytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
