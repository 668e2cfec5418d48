import { useEffect, useState } from "preact/hooks";
import { api, may } from "../api";
import { time } from "../format";
import { StepGraph } from "../components/Graph";
import type { Step } from "../types";

interface Summary {
  id: string;
  version: number;
  description: string | null;
  created_at: string;
}

interface Schedule {
  id: string;
  workflow_id: string;
  version: number | null;
  cron: string | null;
  every: number | null;
  timezone: string;
  status: string;
  next_fire_at: string | null;
  last_fired_at: string | null;
  fires: number;
  last_error: string | null;
}

/** Registered workflows (versions, definition) and their schedules (next fire, pause). */
export function Workflows({ selected }: { selected?: string }) {
  const [workflows, setWorkflows] = useState<Summary[] | null>(null);
  const [schedules, setSchedules] = useState<Schedule[]>([]);
  const [definition, setDefinition] = useState<Record<string, unknown> | null>(null);
  const [version, setVersion] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);

  const loadSchedules = () => api<{ items: Schedule[] }>("/api/v1/schedules").then((b) => setSchedules(b.items));
  useEffect(() => {
    api<{ items: Summary[] }>("/api/v1/workflows").then((b) => setWorkflows(b.items)).catch((e) => setError(e.message));
    loadSchedules().catch((e) => setError(e.message));
  }, []);
  useEffect(() => {
    setDefinition(null);
    if (!selected) return;
    api<Record<string, unknown>>(`/api/v1/workflows/${encodeURIComponent(selected)}${version ? `?version=${version}` : ""}`)
      .then(setDefinition)
      .catch((e) => setError(e.message));
  }, [selected, version]);

  async function toggle(schedule: Schedule) {
    const what = schedule.status === "paused" ? "resume" : "pause";
    try {
      await api(`/api/v1/schedules/${schedule.id}/${what}`, { method: "POST" });
    } catch (e) {
      setError((e as Error).message);
    }
    loadSchedules();
  }

  const latest = workflows?.find((w) => w.id === selected)?.version ?? 0;
  return (
    <section class="workflows-page">
      <div class="toolbar">
        <h1>Workflows &amp; schedules</h1>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      <div class="split">
        <div class="panel">
          <h2>Workflows</h2>
          <table class="table" data-testid="workflows">
            <thead>
              <tr><th>id</th><th>latest</th><th>description</th><th>registered</th><th></th></tr>
            </thead>
            <tbody>
              {(workflows ?? []).map((w) => (
                <tr class={w.id === selected ? "selected" : ""}>
                  <td><a href={`/workflows/${encodeURIComponent(w.id)}`}>{w.id}</a></td>
                  <td>v{w.version}</td>
                  <td>{w.description ?? ""}</td>
                  <td>{time(w.created_at)}</td>
                  <td><a href={`/new?workflow=${encodeURIComponent(w.id)}`}>Run…</a></td>
                </tr>
              ))}
            </tbody>
          </table>
          {workflows && workflows.length === 0 && <p class="muted">None registered yet.</p>}
        </div>
        <div class="panel">
          <h2>{selected ? `Definition of ${selected}` : "Definition"}</h2>
          {selected && latest > 1 && (
            <label>
              version{" "}
              <select value={version ?? latest} onChange={(e) => setVersion(Number((e.target as HTMLSelectElement).value))}>
                {Array.from({ length: latest }, (_, i) => latest - i).map((v) => (
                  <option value={v}>v{v}</option>
                ))}
              </select>
            </label>
          )}
          {definition ? (
            <>
              <StepGraph steps={asSteps(definition)} selected={null} onSelect={() => {}} />
              <pre class="json">{JSON.stringify(definition, null, 2)}</pre>
            </>
          ) : (
            <p class="muted">Pick a workflow.</p>
          )}
        </div>
      </div>
      <div class="panel">
        <h2>Schedules</h2>
        <table class="table" data-testid="schedules">
          <thead>
            <tr><th>workflow</th><th>when</th><th>status</th><th>next fire</th><th>last fired</th><th>fires</th><th></th></tr>
          </thead>
          <tbody>
            {schedules.map((s) => (
              <tr>
                <td><a href={`/workflows/${encodeURIComponent(s.workflow_id)}`}>{s.workflow_id}</a></td>
                <td>{s.cron ? `${s.cron} (${s.timezone})` : `every ${s.every} s`}</td>
                <td><span class={`badge ${s.status}`}>{s.status}</span>{s.last_error && <div class="error-text">{s.last_error}</div>}</td>
                <td>{time(s.next_fire_at)}</td>
                <td>{time(s.last_fired_at)}</td>
                <td>{s.fires}</td>
                <td>{may("operator") && <button onClick={() => toggle(s)}>{s.status === "paused" ? "Resume" : "Pause"}</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {schedules.length === 0 && <p class="muted">No schedule.</p>}
      </div>
    </section>
  );
}

/** A definition's steps as the graph draws them: not run yet. */
function asSteps(definition: Record<string, unknown>): Step[] {
  const steps = (definition.steps as { id: string; needs?: string[]; type?: string }[] | undefined) ?? [];
  return steps.map((s) => ({ id: s.id, needs: s.needs ?? [], status: s.type === "input" ? "input" : "pending", attempts: 0 }) as Step);
}
