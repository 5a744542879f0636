// The drain page of one host (#/drain/HOST, issue 17 §1): whether it is in maintenance, and its
// latest drain live (read again every second while it runs): per VM where it goes, how, its state,
// time and pause; the whole. Cancel a running drain; end the maintenance (undrain). A drain is
// started, and VMs are brought home (undrain --return), from the CLI.
import { useEffect, useState } from 'react';
import type { DrainJob, UndrainReply } from '../../../protocol/drain.js';
import type { HostInfo } from '../../../protocol/host.js';
import { agent, ApiError } from '../../api/http.js';
import { useData } from '../../api/use-data.js';
import { ErrorNote } from '../../components/ErrorNote.js';

/** How often a running drain is read again. */
const FOLLOW_MS = 1_000;

/** The host's latest drain, or null when it has never been drained (the agent answers 404). */
async function latestDrain(host: string): Promise<DrainJob | null> {
  try {
    return await agent<DrainJob>(host, 'GET', '/v1/host/drain');
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

const secs = (s: number | undefined) => (s === undefined ? '-' : `${s.toFixed(1)} s`);

export function DrainPage({ host }: { host: string }) {
  const info = useData(() => agent<HostInfo>(host, 'GET', '/v1/host'), [host]);
  const drain = useData(() => latestDrain(host), [host]);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const d = drain.data;
  const running = d?.state === 'running';
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => drain.reload(), FOLLOW_MS);
    return () => clearInterval(t);
  }, [running, drain.reload]);
  const act = async (call: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await call();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
      info.reload();
      drain.reload();
    }
  };
  const m = info.data?.maintenance;
  return (
    <section aria-labelledby="drain-title">
      <h1 id="drain-title">Drain of {host}</h1>
      <ErrorNote error={info.error ?? drain.error} />
      <p role="status" aria-label="Maintenance">
        {m ? `In maintenance since ${m.since} (${m.reason}): takes no new VMs.` : 'Not in maintenance.'}
      </p>
      {d ? <DrainReport d={d} /> : drain.data === null && <p>This host has not been drained.</p>}
      <ErrorNote error={error} label="Drain action failed" />
      <div className="buttons">
        {running && (
          <button
            type="button"
            className="danger-outline"
            disabled={busy}
            onClick={() => act(() => agent<DrainJob>(host, 'POST', `/v1/host/drains/${d.id}/cancel`))}
          >
            Cancel drain
          </button>
        )}
        {m && !running && (
          <button
            type="button"
            disabled={busy}
            onClick={() =>
              act(() => agent<UndrainReply>(host, 'POST', '/v1/host/undrain', { return: false }))
            }
          >
            End maintenance
          </button>
        )}
      </div>
      <p className="muted">
        Start a drain with <code>vmhop host drain {host}</code>; bring its VMs home with{' '}
        <code>vmhop host undrain {host} --return</code>.
      </p>
    </section>
  );
}

function DrainReport({ d }: { d: DrainJob }) {
  const t = d.total;
  return (
    <>
      <p aria-label="Drain summary">
        Drain {d.state}
        {d.cancelRequested && d.state === 'running' ? ' (cancelling)' : ''}: {t.moved} of {t.vms} VMs moved,{' '}
        {t.failed} failed, {t.cancelled} cancelled, {d.unplaceable.length} cannot move; {secs(t.seconds)}.
      </p>
      <table aria-label="VMs of the drain">
        <thead>
          <tr>
            <th>#</th>
            <th>VM</th>
            <th>To</th>
            <th>Mode</th>
            <th>State</th>
            <th>Time</th>
            <th>Pause</th>
          </tr>
        </thead>
        <tbody>
          {d.vms.map((v) => (
            <tr key={v.vm}>
              <td>{v.order}</td>
              <td>{v.vm}</td>
              <td>{v.to}</td>
              <td>{v.mode}</td>
              <td title={v.error ? `${v.error.code}: ${v.error.message}` : undefined}>{v.state}</td>
              <td>{secs(v.seconds)}</td>
              <td>{v.pauseMs === undefined ? '-' : `${v.pauseMs} ms`}</td>
            </tr>
          ))}
          {d.unplaceable.map((u) => (
            <tr key={u.vm}>
              <td>-</td>
              <td>{u.vm}</td>
              <td colSpan={5}>cannot move: {u.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
