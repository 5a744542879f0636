// The running job's bandwidth cap, changed while RAM is copied (virsh migrate-setspeed through
// POST /v1/jobs/:id/speed); the field starts from what the source QEMU applies now (getspeed).
// The agent refuses what cannot apply (past the RAM copy, the target side); that error is shown.
import { useEffect, useState } from 'react';
import type { JobSpeed } from '../../../protocol/job-speed.js';
import { agent, enc } from '../../api/http.js';
import { ErrorNote } from '../../components/ErrorNote.js';

export function BandwidthControl({ host, jobId }: { host: string; jobId: string }) {
  const [value, setValue] = useState('');
  const [applied, setApplied] = useState<JobSpeed>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    agent<JobSpeed>(host, 'GET', `/v1/jobs/${enc(jobId)}/speed`).then(setApplied, () => undefined);
  }, [host, jobId]);
  const apply = () => {
    setBusy(true);
    setError(undefined);
    agent<JobSpeed>(host, 'POST', `/v1/jobs/${enc(jobId)}/speed`, { mibPerS: Number(value) }).then(
      (s) => {
        setApplied(s);
        setBusy(false);
      },
      (e: unknown) => {
        setError(e);
        setBusy(false);
      },
    );
  };
  const now = applied && (applied.bandwidthMiBs === null ? 'no cap' : `${applied.bandwidthMiBs} MiB/s`);
  return (
    <span className="bandwidth">
      <label>
        Bandwidth (MiB/s, 0: no cap)
        <input
          type="number"
          min={0}
          step={1}
          value={value}
          placeholder={now ?? ''}
          onChange={(e) => setValue(e.target.value)}
        />
      </label>
      <button type="button" onClick={apply} disabled={busy || !/^\d+$/.test(value)}>
        {busy ? 'Setting…' : 'Set bandwidth'}
      </button>
      {now && <span className="muted"> now {now}</span>}
      <ErrorNote error={error} />
    </span>
  );
}
