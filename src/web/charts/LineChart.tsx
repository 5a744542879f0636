// One series over time (uPlot, through UPlot.tsx): the x axis is the time since the job began
// (m:ss), the y axis carries the series' unit; the latest value is also text, since a chart
// alone is neither precise nor readable by a screen reader.
import { useMemo } from 'react';
import type uPlot from 'uplot';
import { UPlot, cssVar, type UPlotOptions } from './UPlot.js';

export interface Point {
  /** ms since the start. */
  x: number;
  y: number;
}

const H = 150;

/** 75 s -> "1:15"; with a step under a second, tenths too ("0:01.5"): the x axis' labels. */
export function clock(seconds: number, stepS = 1): string {
  const tenths = stepS < 1;
  const t = tenths ? Math.round(seconds * 10) / 10 : Math.round(seconds);
  const ss = (t % 60).toFixed(tenths ? 1 : 0).padStart(tenths ? 4 : 2, '0');
  return `${Math.floor(t / 60)}:${ss}`;
}

/** Tick steps of the time axis, s: round seconds and minutes, as a clock reads. */
const TIME_STEPS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];

function chartOptions(title: string, format: (v: number) => string): UPlotOptions {
  const axis = () => ({
    stroke: cssVar('--muted'),
    grid: { stroke: cssVar('--line'), width: 1 },
    ticks: { stroke: cssVar('--line'), width: 1 },
  });
  return {
    // The legend is the cursor's readout: time and value under the pointer.
    legend: { show: true, live: true },
    cursor: { y: false },
    scales: {
      x: { time: false },
      y: { range: (_u: uPlot, _min: number, max: number) => [0, Math.max(1, max) * 1.1] },
    },
    axes: [
      {
        ...axis(),
        label: 'time since start (m:ss)',
        labelSize: 18,
        incrs: TIME_STEPS,
        values: (_u, ticks, _i, _space, step) => ticks.map((t) => clock(t, step)),
      },
      { ...axis(), size: 78, values: (_u, ticks) => ticks.map(format) },
    ],
    series: [
      { label: 'time', value: (_u, v) => (v == null ? '–' : clock(v, 0.1)) },
      {
        label: title,
        stroke: cssVar('--chart-line'),
        fill: cssVar('--chart-fill'),
        width: 2,
        points: { show: false },
        value: (_u, v) => (v == null ? '–' : format(v)),
      },
    ],
  };
}

export function LineChart(props: {
  title: string;
  points: Point[];
  format: (v: number) => string;
  id: string;
}) {
  const { points, title, format } = props;
  const latest = points[points.length - 1];
  const maxY = Math.max(0, ...points.map((p) => p.y));
  const latestText = latest ? format(latest.y) : '–';
  const data = useMemo<uPlot.AlignedData>(
    () => [points.map((p) => p.x / 1000), points.map((p) => p.y)],
    [points],
  );
  const options = useMemo(() => () => chartOptions(title, format), [title, format]);
  return (
    <figure className="chart" data-testid={`chart-${props.id}`} data-samples={points.length}>
      <figcaption>
        <span>{title}</span>
        <output aria-label={`${title}, latest`}>{latestText}</output>
      </figcaption>
      <div
        role="img"
        aria-label={`${title} chart, ${points.length} samples, latest ${latestText}, peak ${format(maxY)}`}
      >
        <UPlot options={options} data={data} height={H} />
      </div>
    </figure>
  );
}
