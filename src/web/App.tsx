// The app shell: navigation between the pages and a hash router (#/vms, #/jobs/a/ID, #/drain/a),
// so every page has an address and a reload keeps it, with no server-side routes.
import { useEffect, useState } from 'react';
import { ConnectionsProvider } from './api/connections.js';
import { HostsPage } from './features/hosts/HostsPage.js';
import { VmsPage } from './features/vms/VmsPage.js';
import { StoragePage } from './features/storage/StoragePage.js';
import { MigrationsPage } from './features/migrate/MigrationsPage.js';
import { JobPage } from './features/migrate/JobPage.js';
import { DrainPage } from './features/hosts/DrainPage.js';

const PAGES = [
  { path: 'hosts', label: 'Hosts' },
  { path: 'vms', label: 'Virtual machines' },
  { path: 'storage', label: 'Storage' },
  { path: 'migrations', label: 'Migrations' },
] as const;

function useHashPath(): string[] {
  const read = () => window.location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const [parts, setParts] = useState(read);
  useEffect(() => {
    const on = () => setParts(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return parts;
}

function Page({ parts }: { parts: string[] }) {
  const [page, a, b] = parts;
  if (page === 'vms') return <VmsPage />;
  if (page === 'storage') return <StoragePage />;
  if (page === 'migrations') return <MigrationsPage />;
  if (page === 'jobs' && a && b) return <JobPage host={a} id={b} />;
  if (page === 'drain' && a) return <DrainPage host={a} />;
  return <HostsPage />;
}

export function App() {
  const parts = useHashPath();
  const current = parts[0] === 'jobs' ? 'migrations' : parts[0] === 'drain' ? 'hosts' : parts[0] || 'hosts';
  useEffect(() => {
    const label = PAGES.find((p) => p.path === current)?.label ?? 'Hosts';
    document.title = `${label} · vmhop`;
  }, [current]);
  return (
    <ConnectionsProvider>
      <a
        className="skip"
        href="#main"
        onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}
      >
        Skip to content
      </a>
      <header className="top">
        <span className="brand">vmhop</span>
        <nav aria-label="Main">
          <ul>
            {PAGES.map((p) => (
              <li key={p.path}>
                <a href={`#/${p.path}`} aria-current={current === p.path ? 'page' : undefined}>
                  {p.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        <Page parts={parts} />
      </main>
    </ConnectionsProvider>
  );
}
