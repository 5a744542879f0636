// A labelled progress bar (role=progressbar with its numbers), e.g. RAM or one disk of a migration.
export function ProgressBar(props: { label: string; done: number; total: number; text: string }) {
  const pct = props.total > 0 ? Math.min(100, Math.round((props.done / props.total) * 100)) : 0;
  return (
    <div className="progress">
      <div className="progress-label">
        <span>{props.label}</span>
        <span>{props.text}</span>
      </div>
      <div
        className="progress-track"
        role="progressbar"
        aria-label={props.label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
        aria-valuetext={`${pct}% (${props.text})`}
      >
        <div className="progress-fill" style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}
