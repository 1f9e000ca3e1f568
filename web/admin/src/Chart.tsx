// One telemetry chart, drawn by uPlot. uPlot is imported here only, dynamically, so that it
// comes in a chunk of its own when the first chart shows, not with the panel's first load.
import { useEffect, useMemo, useRef, useState } from 'react';
import type uPlotType from 'uplot';

export interface ChartLine {
  label: string;
  values: (number | null)[];
  colour: string;
}

export interface ChartProps {
  title: string; // the chart's accessible name, with its range: "CPU, last hour"
  x: number[]; // unix seconds
  lines: ChartLine[];
  format: (v: number | null) => string; // axis and legend values
  yMax?: number; // a fixed top (percent charts: 100)
  spanS?: number; // the x axis always shows this many seconds up to now (else: the data's extent)
  height?: number;
}

type UPlot = typeof uPlotType;
let loading: Promise<UPlot> | null = null;

function loadUPlot(): Promise<UPlot> {
  loading ??= Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(([m]) => m.default);
  return loading;
}

// The x scale of a chart that shows the last `spanS` seconds, whatever the data's extent (one
// sample alone would otherwise stretch the axis over years).
export function timeWindow(spanS: number, nowS = Date.now() / 1000): [number, number] {
  return [nowS - spanS, nowS];
}

export function Chart({ title, x, lines, format, yMax, spanS, height = 180 }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlotType | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const shape = lines.map((l) => l.label).join('|') + (yMax ?? '') + '/' + (spanS ?? '');

  const data = useMemo(() => [x, ...lines.map((l) => l.values)] as uPlotType.AlignedData, [x, lines]);
  const latestData = useRef(data);
  latestData.current = data;

  // Made once per set of lines, with the data of that moment; later data only calls setData.
  useEffect(() => {
    let gone = false;
    loadUPlot()
      .then((UPlot) => {
        if (gone || !box.current) return;
        const width = Math.max(240, box.current.clientWidth);
        const opts: uPlotType.Options = {
          width,
          height,
          legend: { show: true },
          scales: { x: spanS === undefined ? { time: true } : { time: true, range: () => timeWindow(spanS) }, y: yMax === undefined ? { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } : { range: [0, yMax] } },
          axes: [{}, { values: (_u, ticks) => ticks.map((t) => format(t)), size: 70 }],
          series: [{}, ...lines.map((l) => ({ label: l.label, stroke: l.colour, width: 2, value: (_u: uPlotType, v: number | null) => format(v) }))],
        };
        plot.current = new UPlot(opts, latestData.current, box.current);
      })
      .catch((e: unknown) => setFailed(e instanceof Error ? e.message : String(e)));
    return () => {
      gone = true;
      plot.current?.destroy();
      plot.current = null;
    };
    // The options depend on the lines' names and the scale only (shape); data goes by setData.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape, height]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  // The chart follows its box's width (window resize, tablet rotation).
  useEffect(() => {
    const el = box.current;
    if (!el || typeof ResizeObserver === 'undefined') return undefined;
    const ro = new ResizeObserver(() => {
      if (plot.current) plot.current.setSize({ width: Math.max(240, el.clientWidth), height });
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, [height]);

  return (
    <div className="chart" ref={box} role="img" aria-label={title}>
      {failed && <p className="error">The chart could not be drawn: {failed}</p>}
    </div>
  );
}
