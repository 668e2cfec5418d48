import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { useEffect, useRef } from "preact/hooks";

export interface Series {
  label: string;
  values: (number | null)[];
  color: string;
  bars?: boolean;
}

function css(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** A uPlot time chart: x in seconds, one line (or bars) per series; it follows its
 * container's width. */
export function Chart({ title, xs, series, unit = "" }: { title: string; xs: number[]; series: Series[]; unit?: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const axis = { stroke: css("--muted"), grid: { stroke: css("--line") }, ticks: { stroke: css("--line") } };
    const options: uPlot.Options = {
      width: Math.max(280, element.clientWidth),
      height: 220,
      title,
      scales: { x: { time: true } },
      legend: { live: true },
      axes: [axis, { ...axis, values: (_u, ticks) => ticks.map((t) => `${t}${unit}`), size: 60 }],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          fill: s.bars ? s.color + "55" : undefined,
          paths: s.bars ? uPlot.paths.bars!({ size: [0.7, 40] }) : undefined,
          spanGaps: !s.bars,
          // Sparse lines (a few buckets with values) show their points, or nothing shows.
          points: { show: s.values.filter((v) => v !== null).length < 40, size: 5 },
        })),
      ],
    };
    const plot = new uPlot(options, [xs, ...series.map((s) => s.values)] as uPlot.AlignedData, element);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(280, element.clientWidth), height: 220 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [title, xs, series, unit]);
  return <div class="chart" ref={box} data-chart={title} />;
}
