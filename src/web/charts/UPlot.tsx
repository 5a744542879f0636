// A thin React wrapper of uPlot: makes the chart once per options (and again when the colour
// scheme flips, since uPlot draws on a canvas with colours read at creation), feeds it new data
// with setData, follows the box's width, and destroys it on unmount.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export type UPlotOptions = Omit<uPlot.Options, 'width' | 'height'>;

/** The value of a CSS custom property of the page (the theme's colours). */
export const cssVar = (name: string): string =>
  getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function useColourScheme(onChange: () => void): void {
  const ref = useRef(onChange);
  ref.current = onChange;
  useEffect(() => {
    const mq = window.matchMedia('(prefers-color-scheme: dark)');
    const on = () => ref.current();
    mq.addEventListener('change', on);
    return () => mq.removeEventListener('change', on);
  }, []);
}

export function UPlot(props: { options: () => UPlotOptions; data: uPlot.AlignedData; height: number }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = useRef(props.data);
  data.current = props.data;
  const make = useRef(props.options);
  make.current = props.options;

  const create = () => {
    const el = box.current;
    if (!el) return;
    plot.current?.destroy();
    plot.current = new uPlot(
      { ...make.current(), width: Math.max(100, el.clientWidth), height: props.height },
      data.current,
      el,
    );
  };
  useColourScheme(create);

  useEffect(() => {
    create();
    const el = box.current;
    const ro = new ResizeObserver(() => {
      if (el && plot.current)
        plot.current.setSize({ width: Math.max(100, el.clientWidth), height: props.height });
    });
    if (el) ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [props.height]);

  useEffect(() => {
    plot.current?.setData(props.data);
  }, [props.data]);

  return <div ref={box} className="uplot-box" />;
}
