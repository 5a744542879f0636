// A pre-flight report: every check with its result, and the fix for each failure.
import type { PreflightCheck } from '../../../protocol/migration.js';

export function PreflightList({ checks, label }: { checks: PreflightCheck[]; label: string }) {
  return (
    <ul className="preflight" aria-label={label}>
      {checks.map((c) => (
        <li key={c.name} className={c.ok ? 'ok' : 'fail'}>
          <span className="mark" aria-hidden="true">
            {c.ok ? '✓' : '✗'}
          </span>
          <span>
            <strong>{c.name}</strong> <span className="sr-only">{c.ok ? 'passed' : 'failed'}</span>:{' '}
            {c.detail}
            {!c.ok && c.fix && <span className="fix"> Fix: {c.fix}</span>}
          </span>
        </li>
      ))}
    </ul>
  );
}
