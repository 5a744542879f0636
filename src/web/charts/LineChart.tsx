// A small SVG line chart of one series over time, with its latest value also as text
// (a chart alone is not readable by a screen reader, nor precise). No chart library: a
// polyline scaled to the largest value is all a live migration graph needs.
export interface Point {
  x: number;
  y: number;
}

const W = 320;
const H = 110;
const PAD = 4;

export function LineChart(props: {
  title: string;
  points: Point[];
  format: (v: number) => string;
  id: string;
}) {
  const { points } = props;
  const latest = points[points.length - 1];
  const maxY = Math.max(1, ...points.map((p) => p.y));
  const minX = points[0]?.x ?? 0;
  const spanX = Math.max(1, (latest?.x ?? 0) - minX);
  const xy = points.map(
    (p) =>
      `${(PAD + ((p.x - minX) / spanX) * (W - 2 * PAD)).toFixed(1)},${(H - PAD - (p.y / maxY) * (H - 2 * PAD)).toFixed(1)}`,
  );
  const latestText = latest ? props.format(latest.y) : '–';
  return (
    <figure className="chart" data-testid={`chart-${props.id}`} data-samples={points.length}>
      <figcaption>
        <span>{props.title}</span>
        <output aria-label={`${props.title}, latest`}>{latestText}</output>
      </figcaption>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`${props.title} chart, ${points.length} samples, latest ${latestText}, peak ${props.format(maxY)}`}
        preserveAspectRatio="none"
      >
        <line x1={0} y1={H - PAD} x2={W} y2={H - PAD} className="axis" />
        {xy.length > 1 && (
          <>
            <polygon points={`${PAD},${H - PAD} ${xy.join(' ')} ${W - PAD},${H - PAD}`} className="area" />
            <polyline points={xy.join(' ')} className="line" />
          </>
        )}
      </svg>
      <p className="chart-scale">peak {props.format(maxY)}</p>
    </figure>
  );
}
