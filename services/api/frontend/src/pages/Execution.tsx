import { useEffect, useRef, useState } from "preact/hooks";
import { api, may, stream } from "../api";
import { label, short, span, time } from "../format";
import { navigate } from "../router";
import { Actions } from "../components/Actions";
import { StepGraph } from "../components/Graph";
import { Logs } from "../components/Logs";
import { initial, SchemaForm } from "../components/SchemaForm";
import type { Artifact, Execution, Step, Transition } from "../types";

function Json({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span class="muted">–</span>;
  return <pre class="json">{JSON.stringify(value, null, 2)}</pre>;
}

function IdLink({ id }: { id: string | null | undefined }) {
  return id ? <a href={`/executions/${id}`}><code>{short(id)}</code></a> : <span class="muted">–</span>;
}

export function ExecutionPage({ id }: { id: string }) {
  const [execution, setExecution] = useState<Execution | null>(null);
  const [transitions, setTransitions] = useState<Transition[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const reload = useRef<() => void>(() => {});

  useEffect(() => {
    let closed = false;
    let timer = 0;
    const load = async () => {
      try {
        const [body, trail] = await Promise.all([
          api<Execution>(`/api/v1/executions/${id}`),
          api<{ items: Transition[] }>(`/api/v1/executions/${id}/transitions`),
        ]);
        if (!closed) {
          setExecution(body);
          setTransitions(trail.items);
          setError(null);
        }
      } catch (e) {
        if (!closed) setError((e as Error).message);
      }
    };
    // Events say something changed; a read shows it whole (a burst reads once).
    const soon = () => {
      if (!timer) timer = window.setTimeout(() => ((timer = 0), load()), 60);
    };
    reload.current = soon;
    const handlers: Record<string, () => void> = { snapshot: soon };
    for (const kind of EVENT_TYPES) handlers[kind] = soon;
    const close = stream(`/api/v1/executions/${id}/events?wait=10`, handlers);
    load();
    return () => {
      closed = true;
      close();
      clearTimeout(timer);
    };
  }, [id]);

  if (error && !execution) return <section class="panel"><h1>Execution {short(id)}</h1><p class="error" role="alert">{error}</p></section>;
  if (!execution) return <section class="panel"><p class="muted">Loading…</p></section>;

  const e = execution;
  const step = e.steps.find((s) => s.id === selected) ?? null;
  const waiting = e.steps.filter((s) => s.status === "awaiting_input");
  const progress = e.progress?.max ? Math.min(1, e.progress.current / e.progress.max) : null;
  return (
    <section class="execution-page">
      <div class="toolbar">
        <h1>
          {e.name ?? e.workflow_id ?? "ad hoc execution"} <code class="muted">{short(e.id)}</code>
        </h1>
        <span class={`badge ${e.status}`} data-testid="status">{label(e.status)}</span>
        <Actions
          id={e.id}
          status={e.status}
          withResume={false}
          onDone={(what, outcome) => (what === "retry" && outcome.id ? navigate(`/executions/${outcome.id}`) : reload.current())}
        />
      </div>
      {e.message && <p class="message">{e.message}</p>}
      <div class="facts-row">
        <Fact name="workflow" value={e.workflow_id ? `${e.workflow_id} v${e.workflow_version}` : "ad hoc"} />
        <Fact name="queue" value={e.queue ?? "–"} />
        <Fact name="created" value={time(e.created_at)} />
        <Fact name="duration" value={e.started_at ? span(e.completed_at ? e.duration_ms : Date.now() - Date.parse(e.started_at)) : "–"} />
        <Fact name="queue wait" value={span(e.queue_wait_ms)} />
        <Fact name="steps" value={`${e.steps.filter((s) => s.status === "succeeded").length}/${e.n_steps}`} />
        <Fact name="priority" value={String(e.priority)} />
      </div>
      {progress !== null && (
        <div class="progress big" role="progressbar" aria-valuenow={Math.round(progress * 100)}>
          <span style={{ width: `${Math.round(progress * 100)}%` }} />
          <em>{e.progress?.message ?? `${e.progress?.current}/${e.progress?.max}`}</em>
        </div>
      )}

      {waiting.map((s) => (
        <InputForm execution={e} step={s} onDone={() => reload.current()} />
      ))}

      <div class="panel">
        <h2>Steps</h2>
        <StepGraph steps={e.steps} selected={selected} onSelect={setSelected} />
      </div>
      <div class="split logs-row">
        <div class="panel">
          <Logs id={e.id} step={selected} />
        </div>
        <div class="panel">
          <h2>{step ? `Step ${step.id}` : "Step"}</h2>
          {step ? <StepDetail step={step} /> : <StepTable steps={e.steps} onSelect={setSelected} />}
        </div>
      </div>

      <div class="split">
        <div class="panel">
          <h2>Transitions</h2>
          <table class="table" data-testid="transitions">
            <thead>
              <tr><th>at</th><th>type</th><th>from → to</th><th>reason</th><th>actor</th></tr>
            </thead>
            <tbody>
              {transitions.map((t) => (
                <tr>
                  <td title={t.at}>{new Date(t.at).toLocaleTimeString()}</td>
                  <td>{t.type}</td>
                  <td>{t.from ? `${label(t.from)} → ${label(t.to)}` : label(t.to)}</td>
                  <td>{t.reason}</td>
                  <td>{t.actor}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div class="panel">
          <h2>Attempts</h2>
          <table class="table">
            <thead>
              <tr><th>step</th><th>try</th><th>status</th><th>worker</th><th>exit</th><th>error</th><th>took</th></tr>
            </thead>
            <tbody>
              {e.attempts.map((a) => (
                <tr>
                  <td>{a.step_id}</td>
                  <td>{a.attempt}{a.delivery > 1 ? `.${a.delivery}` : ""}</td>
                  <td><span class={`badge ${a.status}`}>{label(a.status)}</span></td>
                  <td>{a.worker ?? "–"}</td>
                  <td>{a.exit_code ?? "–"}</td>
                  <td class="error-text">{a.error ?? ""}{a.error_kind ? ` (${a.error_kind})` : ""}</td>
                  <td>{a.started_at && a.finished_at ? span(Date.parse(a.finished_at) - Date.parse(a.started_at)) : "–"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>

      <div class="split">
        <div class="panel">
          <h2>Input, output, error</h2>
          <h3>input</h3><Json value={e.input} />
          <h3>output</h3><Json value={e.output} />
          {e.error !== null && e.error !== undefined && (<><h3>error</h3><Json value={e.error} /></>)}
          <h3>metadata</h3><Json value={e.metadata} />
          {e.checkpoints && e.checkpoints.length > 0 && (<><h3>checkpoints</h3><Json value={e.checkpoints} /></>)}
        </div>
        <div class="panel">
          <h2>Artifacts</h2>
          <Artifacts items={e.artifacts ?? []} />
          <h2>Related</h2>
          <dl class="related">
            <dt>parent</dt><dd><IdLink id={e.parent_id} /></dd>
            <dt>retry of</dt><dd><IdLink id={e.retry_of} /></dd>
            <dt>retried by</dt><dd><IdLink id={e.retried_by} /></dd>
            <dt>children</dt><dd>{e.children.length ? e.children.map((c) => <IdLink id={c} />) : <span class="muted">–</span>}</dd>
          </dl>
        </div>
      </div>
    </section>
  );
}

function Fact({ name, value }: { name: string; value: string }) {
  return (
    <div class="fact">
      <span>{name}</span>
      <strong>{value}</strong>
    </div>
  );
}

function StepTable({ steps, onSelect }: { steps: Step[]; onSelect: (id: string) => void }) {
  return (
    <>
      <table class="table">
        <thead>
          <tr><th>step</th><th>status</th><th>tries</th><th>worker</th><th>took</th></tr>
        </thead>
        <tbody>
          {steps.map((s) => (
            <tr>
              <td><button class="link" onClick={() => onSelect(s.id)}>{s.id}</button></td>
              <td><span class={`badge ${s.status}`}>{label(s.status)}</span></td>
              <td>{s.attempts}</td>
              <td>{s.worker ?? "–"}</td>
              <td>{span(s.duration_ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted">Pick a step (here or in the graph) for its details and only its logs.</p>
    </>
  );
}

function StepDetail({ step }: { step: Step }) {
  return (
    <dl class="step-detail">
      <dt>status</dt><dd><span class={`badge ${step.status}`}>{label(step.status)}</span> {step.message}</dd>
      <dt>queue / worker</dt><dd>{step.queue} / {step.worker ?? "–"}</dd>
      <dt>attempts</dt><dd>{step.attempts}</dd>
      <dt>duration</dt><dd>{span(step.duration_ms)}</dd>
      {step.exit_code !== null && (<><dt>exit code</dt><dd>{step.exit_code}</dd></>)}
      {step.error && (<><dt>error</dt><dd class="error-text">{step.error}</dd></>)}
      {step.child_id && (<><dt>child</dt><dd><IdLink id={step.child_id} /></dd></>)}
      {step.output !== null && step.output !== undefined && (<><dt>output</dt><dd><Json value={step.output} /></dd></>)}
      {step.progress && (<><dt>progress</dt><dd>{step.progress.current}/{step.progress.max ?? "?"} {step.progress.message ?? ""}</dd></>)}
    </dl>
  );
}

function InputForm({ execution, step, onDone }: { execution: Execution; step: Step; onDone: () => void }) {
  const [value, setValue] = useState<unknown>(() => initial(step.schema));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api(`/api/v1/executions/${execution.id}/resume`, { method: "POST", json: { input: value ?? null, step_id: step.id } });
      onDone();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form class="panel input-form" onSubmit={submit} aria-label={`input for ${step.id}`}>
      <h2>Waiting for input · {step.id}</h2>
      {step.prompt && <p class="prompt">{step.prompt}</p>}
      <SchemaForm schema={step.schema} value={value} onChange={setValue} />
      <div class="actions">
        {may("operator") ? (
          <button type="submit" class="primary" disabled={busy}>Resume</button>
        ) : (
          <span class="muted">A reader's key may not answer.</span>
        )}
        {error && <span class="error" role="alert">{error}</span>}
      </div>
    </form>
  );
}

function Artifacts({ items }: { items: Artifact[] }) {
  if (!items.length) return <p class="muted">none</p>;
  return (
    <ul class="artifacts">
      {items.map((a) => (
        <li>
          <div>
            <strong>{a.name}</strong> <span class="muted">{a.kind}{a.step_id ? ` · ${a.step_id}` : ""}{a.size ? ` · ${a.size} B` : ""}</span>
            {a.url && <a href={a.url} download={a.name}> download</a>}
          </div>
          {a.url && a.kind === "screenshot" && <img src={a.url} alt={a.name} loading="lazy" />}
          {a.url && a.kind === "video" && <video src={a.url} controls preload="metadata" />}
        </li>
      ))}
    </ul>
  );
}

// Every event type the events stream names; each says "read again".
const EVENT_TYPES = [
  "ExecutionCreated", "ExecutionQueued", "ExecutionStarting", "ExecutionStarted", "StepDispatched", "StepStarted", "StepSucceeded",
  "StepFailed", "StepRetryScheduled", "StepSkipped", "StepProgressed", "StepFactsRecorded", "InputRequested",
  "InputProvided", "ExecutionWaiting", "ExecutionResumed", "ExecutionCompleted", "ExecutionFailed", "CancelRequested",
  "ExecutionCancelled", "ExecutionTimedOut", "ExecutionRetried", "ExecutionBackingOff", "StepCancelled",
  "StepDeliveryLost", "StepStopRequested", "StepReused", "ChildRequested", "ExecutionExpired",
];
