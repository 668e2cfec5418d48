import { useEffect, useMemo, useState } from "preact/hooks";
import { api, query } from "../api";
import { span } from "../format";
import { navigate, useLocation } from "../router";
import { Chart, type Series } from "../components/Chart";

interface Item {
  bucket: string;
  workflow?: string | null;
  queue?: string | null;
  started: number;
  completed: number;
  failed: number;
  cancelled: number;
  timed_out: number;
  success_rate: number | null;
  duration_ms: { min: number | null; avg: number | null; p50: number | null; p95: number | null; max: number | null };
  queue_wait_ms: { avg: number | null; p95: number | null };
}

interface Metrics {
  from: string;
  to: string;
  bucket: string;
  items: Item[];
  workers: { worker: string; busy_s: number; avg_running_steps: number; capacity: number | null; utilisation: number | null }[];
}

const RANGES: Record<string, [number, string]> = {
  "1h": [3600e3, "minute"],
  "6h": [6 * 3600e3, "minute"],
  "24h": [24 * 3600e3, "hour"],
  "7d": [7 * 24 * 3600e3, "hour"],
  "30d": [30 * 24 * 3600e3, "day"],
};
const STEP_MS: Record<string, number> = { minute: 60e3, hour: 3600e3, day: 86400e3 };
const COLORS = ["#4f6bed", "#2e9e5b", "#d9453d", "#e08a1e", "#8a5cd6", "#1a9fb0", "#c2419b", "#7a8793"];

/** Every bucket of the range, in seconds: the API leaves out the empty ones. */
function buckets(from: string, to: string, bucket: string): number[] {
  const step = STEP_MS[bucket];
  const start = Math.floor(Date.parse(from) / step) * step;
  const xs: number[] = [];
  for (let t = start; t < Date.parse(to); t += step) xs.push(t / 1000);
  return xs;
}

export function Analytics() {
  const { search } = useLocation();
  const range = search.get("range") ?? "24h";
  const by = search.get("by") ?? "";
  const workflow = search.get("workflow") ?? "";
  const queue = search.get("queue") ?? "";
  const [metrics, setMetrics] = useState<Metrics | null>(null);
  const [grouped, setGrouped] = useState<Metrics | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const [length, bucket] = RANGES[range] ?? RANGES["24h"];
    const to = new Date();
    const from = new Date(to.getTime() - length).toISOString();
    const params = { from, to: to.toISOString(), bucket, workflow_id: workflow, queue };
    Promise.all([
      api<Metrics>(`/api/v1/metrics${query(params)}`),
      by ? api<Metrics>(`/api/v1/metrics${query({ ...params, group_by: by })}`) : Promise.resolve(null),
    ])
      .then(([all, split]) => {
        setMetrics(all);
        setGrouped(split);
        setError(null);
      })
      .catch((e) => setError((e as Error).message));
  }, [range, by, workflow, queue]);

  function set(name: string, value: string) {
    const next = new URLSearchParams(location.search);
    if (value) next.set(name, value);
    else next.delete(name);
    navigate(`/analytics?${next}`, true);
  }

  const view = useMemo(() => (metrics ? charts(metrics) : null), [metrics]);
  const split = useMemo(() => (grouped && by ? groupChart(grouped, by) : null), [grouped, by]);
  const totals = metrics?.items.reduce(
    (t, i) => ({
      started: t.started + i.started,
      completed: t.completed + i.completed,
      failed: t.failed + i.failed,
      stopped: t.stopped + i.cancelled + i.timed_out,
    }),
    { started: 0, completed: 0, failed: 0, stopped: 0 },
  );
  const ended = totals ? totals.completed + totals.failed + totals.stopped : 0;

  return (
    <section class="analytics-page">
      <div class="toolbar">
        <h1>Analytics</h1>
        <div class="segmented" role="group" aria-label="range">
          {Object.keys(RANGES).map((r) => (
            <button aria-pressed={r === range} onClick={() => set("range", r)}>
              {r}
            </button>
          ))}
        </div>
        <input
          placeholder="workflow"
          aria-label="workflow"
          value={workflow}
          onChange={(e) => set("workflow", (e.target as HTMLInputElement).value)}
        />
        <input placeholder="queue" aria-label="queue" value={queue} onChange={(e) => set("queue", (e.target as HTMLInputElement).value)} />
        <label>
          by{" "}
          <select value={by} onChange={(e) => set("by", (e.target as HTMLSelectElement).value)} aria-label="group by">
            <option value="">—</option>
            <option value="workflow">workflow</option>
            <option value="queue">queue</option>
          </select>
        </label>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      {totals && (
        <div class="tiles" data-testid="totals">
          <Tile name="started" value={totals.started} />
          <Tile name="completed" value={totals.completed} />
          <Tile name="failed" value={totals.failed} />
          <Tile name="cancelled / timed out" value={totals.stopped} />
          <Tile name="success rate" value={ended ? `${((100 * totals.completed) / ended).toFixed(1)}%` : "–"} />
        </div>
      )}
      {view && (
        <div class="charts">
          <Chart title="Executions per bucket" xs={view.xs} series={view.counts} />
          <Chart title="Success rate" xs={view.xs} series={view.rate} unit="%" />
          <Chart title="Duration (ms)" xs={view.xs} series={view.durations} />
          <Chart title="Queue wait (ms)" xs={view.xs} series={view.waits} />
          {split && <Chart title={`Started by ${by}`} xs={split.xs} series={split.series} />}
        </div>
      )}
      {metrics && (
        <div class="panel">
          <h2>Worker utilisation</h2>
          {metrics.workers.length === 0 ? (
            <p class="muted">No step ran in this range.</p>
          ) : (
            <table class="table">
              <thead>
                <tr><th>worker</th><th>busy</th><th>steps running on average</th><th>capacity</th><th>utilisation</th></tr>
              </thead>
              <tbody>
                {metrics.workers.map((w) => (
                  <tr>
                    <td>{w.worker}</td>
                    <td>{span(w.busy_s * 1000)}</td>
                    <td>{w.avg_running_steps.toFixed(3)}</td>
                    <td>{w.capacity ?? "–"}</td>
                    <td>{w.utilisation === null ? "–" : `${(100 * w.utilisation).toFixed(1)}%`}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </section>
  );
}

function Tile({ name, value }: { name: string; value: number | string }) {
  return (
    <div class="tile" data-tile={name}>
      <span>{name}</span>
      <strong>{typeof value === "number" ? value.toLocaleString() : value}</strong>
    </div>
  );
}

function charts(m: Metrics) {
  const xs = buckets(m.from, m.to, m.bucket);
  const at = new Map(m.items.map((i) => [Date.parse(i.bucket) / 1000, i]));
  const pick = (f: (i: Item) => number | null, empty: number | null = 0) => xs.map((x) => (at.has(x) ? f(at.get(x)!) : empty));
  const counts: Series[] = [
    { label: "started", values: pick((i) => i.started), color: COLORS[0] },
    { label: "completed", values: pick((i) => i.completed), color: COLORS[1] },
    { label: "failed", values: pick((i) => i.failed), color: COLORS[2] },
    { label: "cancelled/timed out", values: pick((i) => i.cancelled + i.timed_out), color: COLORS[3] },
  ];
  const rate: Series[] = [
    { label: "success rate", values: pick((i) => (i.success_rate === null ? null : 100 * i.success_rate), null), color: COLORS[1] },
  ];
  const durations: Series[] = [
    { label: "p50", values: pick((i) => i.duration_ms.p50, null), color: COLORS[0] },
    { label: "p95", values: pick((i) => i.duration_ms.p95, null), color: COLORS[4] },
    { label: "max", values: pick((i) => i.duration_ms.max, null), color: COLORS[2] },
  ];
  const waits: Series[] = [
    { label: "avg", values: pick((i) => i.queue_wait_ms.avg, null), color: COLORS[5] },
    { label: "p95", values: pick((i) => i.queue_wait_ms.p95, null), color: COLORS[6] },
  ];
  return { xs, counts, rate, durations, waits };
}

function groupChart(m: Metrics, by: string) {
  const xs = buckets(m.from, m.to, m.bucket);
  const groups = [...new Set(m.items.map((i) => String((i as unknown as Record<string, unknown>)[by] ?? "(none)")))].slice(0, 8);
  const series: Series[] = groups.map((g, n) => {
    const at = new Map(
      m.items
        .filter((i) => String((i as unknown as Record<string, unknown>)[by] ?? "(none)") === g)
        .map((i) => [Date.parse(i.bucket) / 1000, i.started]),
    );
    return { label: g, values: xs.map((x) => at.get(x) ?? 0), color: COLORS[n % COLORS.length] };
  });
  return { xs, series };
}
