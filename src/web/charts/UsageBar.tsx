// Used vs capacity of a pool or a host's memory, as a meter (it is a measurement, not progress).
import { bytes } from '../components/format.js';

export function UsageBar(props: { label: string; used: number; total: number }) {
  const pct = props.total > 0 ? Math.round((props.used / props.total) * 100) : 0;
  return (
    <div className="usage">
      <div
        className="progress-track"
        role="meter"
        aria-label={props.label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
        aria-valuetext={`${bytes(props.used)} used of ${bytes(props.total)}`}
      >
        <div className={`progress-fill ${pct > 90 ? 'high' : ''}`} style={{ width: `${pct}%` }} />
      </div>
      <span className="usage-text">
        {bytes(props.total - props.used)} free of {bytes(props.total)}
      </span>
    </div>
  );
}
