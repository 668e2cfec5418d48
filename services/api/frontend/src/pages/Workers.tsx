import { useEffect, useState } from "preact/hooks";
import { api, ApiError, may } from "../api";
import { age, short } from "../format";
import { useOverview } from "../components/Live";

interface Environment {
  id: string;
  kind: string;
  name: string;
  created_at: string | null;
  execution_id: string | null;
  step_id: string | null;
  state?: string;
  status?: string;
}

/** Live runners and agents, per-queue work and limits, and the containers of steps. */
export function Workers() {
  const overview = useOverview();
  const [limits, setLimits] = useState<Record<string, number>>({});
  const [environments, setEnvironments] = useState<Environment[] | null>(null);
  const [envError, setEnvError] = useState<string | null>(null);
  const [, setNow] = useState(0);

  const loadEnvironments = () =>
    api<{ items: Environment[] }>("/api/v1/environments")
      .then((body) => {
        setEnvironments(body.items);
        setEnvError(null);
      })
      .catch((e) => setEnvError(e instanceof ApiError && e.status === 503 ? `No Docker engine: ${e.message}` : (e as Error).message));

  useEffect(() => {
    api<{ items: { queue: string; max_running: number }[] }>("/api/v1/queues").then((body) =>
      setLimits(Object.fromEntries(body.items.map((i) => [i.queue, i.max_running]))),
    );
    loadEnvironments();
    const clock = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(clock);
  }, []);

  async function remove(id: string) {
    if (!confirm("Remove this container? A step running in it fails.")) return;
    try {
      await api(`/api/v1/environments/${id}`, { method: "DELETE" });
    } catch (e) {
      setEnvError((e as Error).message);
    }
    loadEnvironments();
  }

  const queues = new Map<string, { waiting: number; leased: number }>();
  for (const q of overview?.queues ?? []) queues.set(q.queue, q);
  for (const q of Object.keys(limits)) if (!queues.has(q)) queues.set(q, { waiting: 0, leased: 0 });

  return (
    <section class="workers-page">
      <div class="toolbar">
        <h1>Workers &amp; queues</h1>
        {overview && (
          <span class="muted">
            {overview.running_now.executions} executions and {overview.running_now.steps} steps running now
          </span>
        )}
      </div>
      <div class="panel">
        <h2>Workers</h2>
        <table class="table" data-testid="workers">
          <thead>
            <tr><th>worker</th><th>host</th><th>queues</th><th>backends</th><th>running</th><th>heartbeat</th><th>up since</th></tr>
          </thead>
          <tbody>
            {(overview?.workers ?? []).map((w) => (
              <tr>
                <td><code>{w.id}</code></td>
                <td>{w.host} ({w.pid})</td>
                <td>{w.queues.join(", ")}</td>
                <td>{w.backends.join(", ")}</td>
                <td>
                  <meter min={0} max={w.capacity} value={w.running.length} /> {w.running.length}/{w.capacity}
                  {w.running.map((r) => (
                    <div class="muted">
                      <a href={`/executions/${r.execution_id}`}>{short(r.execution_id)}</a> · {r.step_id}
                    </div>
                  ))}
                </td>
                <td>{age(w.last_heartbeat)}</td>
                <td>{age(w.started_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {overview && !overview.workers?.length && <p class="muted">No worker is registered.</p>}
      </div>
      <div class="panel">
        <h2>Queues</h2>
        <table class="table" data-testid="queues">
          <thead>
            <tr><th>queue</th><th>waiting</th><th>leased</th><th>limit (max running)</th></tr>
          </thead>
          <tbody>
            {[...queues.entries()].map(([name, q]) => (
              <tr>
                <td>{name}</td>
                <td>{q.waiting}</td>
                <td>{q.leased}</td>
                <td>{limits[name] ?? "none"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="panel">
        <h2>Environments</h2>
        {envError && <p class="muted">{envError}</p>}
        {environments && environments.length === 0 && <p class="muted">No container, network or volume of this deployment.</p>}
        {environments && environments.length > 0 && (
          <table class="table">
            <thead>
              <tr><th>kind</th><th>name</th><th>execution</th><th>step</th><th>state</th><th></th></tr>
            </thead>
            <tbody>
              {environments.map((env) => (
                <tr>
                  <td>{env.kind}</td>
                  <td>{env.name}</td>
                  <td>{env.execution_id ? <a href={`/executions/${env.execution_id}`}>{short(env.execution_id)}</a> : "–"}</td>
                  <td>{env.step_id ?? "–"}</td>
                  <td>{env.status ?? env.state ?? ""}</td>
                  <td>{may("admin") && <button onClick={() => remove(env.id)}>Remove</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </section>
  );
}
