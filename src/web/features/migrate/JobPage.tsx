// A migration job: while it runs, its phase, progress bars (RAM, each disk), live charts
// of transfer rate, remaining bytes and dirty rate (latest values also as text), the ETA
// with its reason, Switch to post-copy and the bandwidth cap while RAM is copied, and Cancel; when it has ended, its report;
// when its outcome is unknown (needs-operator), the operator's decision (ResolvePanel).
import { useState } from 'react';
import type { JobInfo } from '../../../protocol/migration.js';
import { agent, enc } from '../../api/http.js';
import { LineChart } from '../../charts/LineChart.js';
import { ProgressBar } from '../../charts/ProgressBar.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { StateBadge } from '../../components/StateBadge.js';
import { bytes, duration, rate } from '../../components/format.js';
import { BandwidthControl } from './BandwidthControl.js';
import { JobReport } from './JobReport.js';
import { PhaseSteps } from './PhaseSteps.js';
import { ResolvePanel } from './ResolvePanel.js';
import { useJob, type Sample } from './use-job.js';

function Charts({ samples }: { samples: Sample[] }) {
  const series = (f: (s: Sample) => number) => samples.map((s) => ({ x: s.elapsedMs, y: f(s) }));
  return (
    <div className="charts">
      <LineChart id="rate" title="Transfer rate" points={series((s) => s.rateBps)} format={rate} />
      <LineChart id="remaining" title="Remaining" points={series((s) => s.remainingBytes)} format={bytes} />
      <LineChart id="dirty" title="Dirty rate" points={series((s) => s.dirtyRateBps)} format={rate} />
    </div>
  );
}

function Running({ host, job, samples }: { host: string; job: JobInfo; samples: Sample[] }) {
  const [error, setError] = useState<unknown>();
  const [cancelling, setCancelling] = useState(false);
  const [switching, setSwitching] = useState(false);
  const p = job.progress;
  // virsh migrate-postcopy; the agent explains when the job was started without post-copy.
  const switchToPostcopy = () => {
    setSwitching(true);
    agent(host, 'POST', `/v1/jobs/${enc(job.id)}/postcopy`, {}).then(undefined, (e: unknown) => {
      setSwitching(false);
      setError(e);
    });
  };
  const inRam = job.role === 'source' && job.phase === 'perform' && p?.stage === 'ram';
  const cancel = () => {
    setCancelling(true);
    agent(host, 'POST', `/v1/jobs/${enc(job.id)}/abort`, {}).then(undefined, (e: unknown) => {
      setCancelling(false);
      setError(e);
    });
  };
  return (
    <section aria-label="Progress">
      <p aria-live="polite" className="stage">
        Stage: <strong>{p?.stage ?? 'setup'}</strong>
        {p && p.pass > 0 ? `, RAM pass ${p.pass}` : ''}, elapsed {duration(p?.elapsedMs)}
      </p>
      <ProgressBar
        label="RAM"
        done={p?.ramTransferredBytes ?? 0}
        total={(p?.ramTransferredBytes ?? 0) + (p?.ramRemainingBytes ?? 0) || (p?.ramTotalBytes ?? 0)}
        text={`${bytes(p?.ramTransferredBytes)} sent, ${bytes(p?.ramRemainingBytes)} remaining of ${bytes(p?.ramTotalBytes)}`}
      />
      {(p?.disks ?? []).map((d) => (
        <ProgressBar
          key={d.target}
          label={`Disk ${d.target}`}
          done={d.doneBytes}
          total={d.totalBytes}
          text={`${bytes(d.doneBytes)} of ${bytes(d.totalBytes)}`}
        />
      ))}
      <p className="eta">
        <strong>ETA:</strong>{' '}
        <span data-testid="eta">{p?.etaS == null ? 'unknown' : duration(p.etaS * 1000)}</span>
        {p?.etaReason ? <span className="muted"> — {p.etaReason}</span> : null}
        {p?.expectedDowntimeMs !== undefined && (
          <span className="muted"> · expected downtime {duration(p.expectedDowntimeMs)}</span>
        )}
      </p>
      <Charts samples={samples} />
      <ErrorNote error={error} />
      <div className="buttons">
        {inRam && <BandwidthControl host={host} jobId={job.id} />}
        {inRam && (
          <button type="button" onClick={switchToPostcopy} disabled={switching}>
            {switching ? 'Switching to post-copy…' : 'Switch to post-copy'}
          </button>
        )}
        <button
          type="button"
          className="danger"
          onClick={cancel}
          disabled={cancelling || job.phase === 'finish'}
        >
          {cancelling ? 'Cancelling…' : 'Cancel migration'}
        </button>
      </div>
    </section>
  );
}

export function JobPage({ host, id }: { host: string; id: string }) {
  const { job, error, samples } = useJob(host, id);
  const to = job?.role === 'source' ? job.peer : host;
  const from = job?.role === 'source' ? host : job?.peer;
  return (
    <section aria-labelledby="job-title">
      <p>
        <a href="#/migrations">← All migrations</a>
      </p>
      <div className="page-head">
        <h1 id="job-title">{job ? `Migration of ${job.vm}: ${from} → ${to}` : 'Migration'}</h1>
        {job && <StateBadge state={job.state} />}
      </div>
      <ErrorNote error={error} />
      {job && (
        <>
          <p className="muted">
            {job.mode} · job {job.id} · started {new Date(job.createdAt).toLocaleString()}
          </p>
          <PhaseSteps phase={job.phase} state={job.state} />
          {job.state === 'running' ? (
            <Running host={host} job={job} samples={samples} />
          ) : (
            <>
              {job.state === 'needs-operator' && job.role === 'source' && (
                <ResolvePanel host={host} job={job} />
              )}
              {job.report && <JobReport report={job.report} />}
              {samples.length > 1 && <Charts samples={samples} />}
            </>
          )}
        </>
      )}
    </section>
  );
}
