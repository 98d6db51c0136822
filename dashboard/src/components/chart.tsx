/**
 * A uPlot time-series chart with vertical marks for alarms and events. uPlot is loaded on demand,
 * so the station board's first load does not carry it. After drawing, the container records how
 * many points were drawn (`data-points`), and a table of the readings is available to everyone.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type uPlotType from 'uplot';
import type { Series } from '../api.ts';
import { axisLabels, formatTime } from '../format.ts';
import { getState, t } from '../store.ts';
import { ErrorBox } from './error-box.tsx';

export interface Mark {
  at: number;
  label: string;
  colour: string;
}

const LINE_COLOURS = ['main', '#5b606a', '#7b3fa0', '#0f7b7b'];

let uplotModule: Promise<typeof uPlotType> | null = null;
function loadUplot(): Promise<typeof uPlotType> {
  uplotModule ??= import('./uplot-chunk.ts').then((m) => m.default);
  return uplotModule;
}

function marksPlugin(marks: Mark[]): uPlotType.Plugin {
  return {
    hooks: {
      draw: (u: uPlotType) => {
        const g = u.ctx;
        const { top, height } = u.bbox;
        g.save();
        for (const m of marks) {
          const x = Math.round(u.valToPos(m.at / 1000, 'x', true));
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          g.strokeStyle = m.colour;
          g.lineWidth = 2 * devicePixelRatio;
          g.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
          g.beginPath();
          g.moveTo(x, top);
          g.lineTo(x, top + height);
          g.stroke();
        }
        g.restore();
      },
    },
  };
}

export function TimeChart({
  series,
  title,
  unit,
  colour,
  marks,
  from,
  to,
}: {
  series: Series;
  title: string;
  unit: string;
  colour: string;
  marks: Mark[];
  from: number;
  to: number;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<unknown>(null);
  const lang = getState().lang;

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    let plot: uPlotType | null = null;
    let ro: ResizeObserver | null = null;
    let alive = true;
    loadUplot().then(
      (UPlot) => {
        if (!alive) return;
        const width = Math.max(280, el.clientWidth);
        const opts: uPlotType.Options = {
          title,
          width,
          height: 220,
          scales: { x: { time: true, min: from / 1000, max: to / 1000 } },
          series: [
            // The time column of the legend: its name and the hovered instant in the hub's zone, 24-hour clock.
            { label: t('household.time'), value: (_u: uPlotType, v: number | null) => (v === null ? '—' : formatTime(lang, v * 1000)) },
            ...series.lines.map((line, i) => ({
              label: series.lines.length > 1 ? line.device : title,
              stroke: LINE_COLOURS[i % LINE_COLOURS.length] === 'main' ? colour : LINE_COLOURS[i % LINE_COLOURS.length],
              width: 2,
              points: { show: series.ts.length < 120 },
              spanGaps: false,
              value: (_u: uPlotType, v: number | null) => (v === null ? '—' : `${Math.round(v * 100) / 100} ${unit}`),
            })),
          ],
          axes: [
            {
              values: (_u: uPlotType, splits: number[]) =>
                axisLabels(
                  lang,
                  splits.map((x) => x * 1000),
                  to - from,
                ),
            },
            { label: unit },
          ],
          legend: { show: true },
          plugins: [marksPlugin(marks)],
        };
        const data = [series.ts.map((ms) => ms / 1000), ...series.lines.map((l) => l.values)] as uPlotType.AlignedData;
        el.replaceChildren();
        plot = new UPlot(opts, data, el);
        el.dataset.points = String(series.count);
        el.dataset.drawn = 'true';
        ro = new ResizeObserver(() => plot?.setSize({ width: Math.max(280, el.clientWidth), height: 220 }));
        ro.observe(el);
      },
      (err: unknown) => alive && setError(err),
    );
    return () => {
      alive = false;
      ro?.disconnect();
      plot?.destroy();
    };
  }, [series, marks, from, to, title, lang]);

  return (
    <figure class="chart" data-field={series.field}>
      <ErrorBox error={error} />
      <div ref={ref} class="chart-box" data-field={series.field} />
      <figcaption class="muted">{series.count === 0 ? t('household.noData') : t('household.points', { n: series.count })}</figcaption>
      {series.ts.length > 0 && (
        <details>
          <summary>{t('household.dataTable')}</summary>
          <table class="data-table" data-field={series.field}>
            <thead>
              <tr>
                <th scope="col">{t('household.time')}</th>
                {series.lines.map((l) => (
                  <th scope="col" key={l.device}>
                    {l.device} ({unit})
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {series.ts.map((ts, i) => (
                <tr key={ts}>
                  <td>{formatTime(lang, ts)}</td>
                  {series.lines.map((l) => (
                    <td key={l.device}>{l.values[i] ?? '—'}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </figure>
  );
}
