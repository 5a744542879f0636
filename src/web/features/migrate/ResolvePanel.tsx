// A source job whose switchover has an unknown outcome (needs-operator): the guest is paused on
// this host and may run on the target. The agent keeps asking the target and follows its answer;
// here the operator can decide now, as `vmhop job resolve ID --source-runs|--target-runs`. The
// agent checks the other side first and refuses a choice that contradicts it. Only when the
// target cannot be asked does a second step offer --force, with what the operator must know.
import { useState } from 'react';
import type { JobInfo } from '../../../protocol/migration.js';
import { agent, ApiError, enc } from '../../api/http.js';
import { ErrorNote } from '../../components/ErrorNote.js';

type Runs = 'source' | 'target';

export function ResolvePanel({ host, job }: { host: string; job: JobInfo }) {
  const [busy, setBusy] = useState<Runs>();
  const [error, setError] = useState<unknown>();
  const [forceFor, setForceFor] = useState<Runs>();
  const [sure, setSure] = useState(false);
  const resolve = (runs: Runs, force: boolean) => {
    setBusy(runs);
    setError(undefined);
    agent(host, 'POST', `/v1/jobs/${enc(job.id)}/resolve`, { runs, force }).then(
      () => setBusy(undefined),
      (e: unknown) => {
        setBusy(undefined);
        setError(e);
        // The target could not be asked: offer the forced decision, never by default.
        if (e instanceof ApiError && e.code === 'VMHOP_ERR_HOST_UNREACHABLE') setForceFor(runs);
      },
    );
  };
  return (
    <section className="panel" aria-labelledby="resolve-title">
      <h2 id="resolve-title">Outcome unknown: who runs {job.vm}?</h2>
      <p>
        The switchover to <strong>{job.peer}</strong> was cut off before this host learned whether {job.peer}{' '}
        took over. {job.vm} stays paused here, and {host} keeps asking {job.peer} and follows its answer. To
        decide now, say who runs it: {host} checks with {job.peer} first and refuses a choice that contradicts
        what {job.peer} did.
      </p>
      <ErrorNote error={error} label="Resolve failed" />
      <div className="buttons">
        <button type="button" disabled={!!busy} onClick={() => resolve('source', false)}>
          {busy === 'source' ? 'Checking…' : `${host} (the source) runs it`}
        </button>
        <button type="button" disabled={!!busy} onClick={() => resolve('target', false)}>
          {busy === 'target' ? 'Checking…' : `${job.peer} (the target) runs it`}
        </button>
      </div>
      {forceFor && (
        <div className="force" role="group" aria-label="Decide without the target">
          <p>
            {job.peer} cannot be asked. Decide without it only if you know {job.peer} does not run {job.vm}{' '}
            (the host is down, or its QEMU is gone): otherwise both hosts could run the guest.
          </p>
          <label className="check">
            <input type="checkbox" checked={sure} onChange={(e) => setSure(e.target.checked)} /> I know{' '}
            {job.peer} does not run {job.vm}
          </label>
          <div className="buttons">
            <button
              type="button"
              className="danger"
              disabled={!sure || !!busy}
              onClick={() => resolve(forceFor, true)}
            >
              {forceFor === 'source' ? `${host} runs it` : `${job.peer} runs it`} (force)
            </button>
          </div>
        </div>
      )}
    </section>
  );
}
