// The report a finished job keeps: result, total time, measured downtime, bytes moved.
import type { JobReport as Report } from '../../../protocol/migration.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { bytes, duration } from '../../components/format.js';

export function JobReport({ report }: { report: Report }) {
  const diskBytes = Object.entries(report.diskBytes ?? {});
  return (
    <section className="panel" aria-labelledby="report-title">
      <h2 id="report-title">Report</h2>
      <dl className="facts" aria-label="Migration report">
        <dt>Result</dt>
        <dd data-testid="report-result">{report.result}</dd>
        <dt>Total time</dt>
        <dd data-testid="report-total">{duration(report.totalMs)}</dd>
        <dt>Downtime</dt>
        <dd data-testid="report-downtime">
          {duration(report.downtimeMs)}
          {report.qemuDowntimeMs !== undefined ? ` (QEMU: ${duration(report.qemuDowntimeMs)})` : ''}
        </dd>
        <dt>RAM sent</dt>
        <dd data-testid="report-ram">{bytes(report.ramBytes)}</dd>
        {diskBytes.map(([d, n]) => (
          <div className="fact-row" key={d}>
            <dt>Disk {d}</dt>
            <dd>{bytes(n)}</dd>
          </div>
        ))}
        <dt>RAM passes</dt>
        <dd>{report.passes ?? '–'}</dd>
        {report.postcopy && (
          <>
            <dt>Post-copy</dt>
            <dd>
              after {duration(report.postcopy.afterMs)} ({report.postcopy.reason});{' '}
              {report.postcopyPageRequests ?? 0} page requests, {report.postcopy.recoveries} recoveries
            </dd>
          </>
        )}
        <dt>Set-up</dt>
        <dd>{duration(report.setupMs)}</dd>
        <dt>Encrypted</dt>
        <dd>{report.encrypted ? 'yes (TLS)' : 'no'}</dd>
      </dl>
      {report.error && <ErrorNote error={report.error} label="Why it ended" />}
      {report.notes.length > 0 && (
        <ul aria-label="Notes">
          {report.notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
    </section>
  );
}
