// The five phases of a migration (begin, prepare, perform, finish, confirm) as steps,
// the current one marked with aria-current.
import { Phase, type JobState } from '../../../protocol/migration.js';

export function PhaseSteps({ phase, state }: { phase: Phase; state: JobState }) {
  const at = Phase.options.indexOf(phase);
  return (
    <ol className="phases" aria-label="Phases">
      {Phase.options.map((p, i) => {
        const done = i < at || (state === 'completed' && i <= at);
        const current = i === at && state === 'running';
        return (
          <li
            key={p}
            className={done ? 'done' : current ? 'current' : ''}
            aria-current={current ? 'step' : undefined}
          >
            {p}
            <span className="sr-only">{done ? ' (done)' : current ? ' (current)' : ''}</span>
          </li>
        );
      })}
    </ol>
  );
}
