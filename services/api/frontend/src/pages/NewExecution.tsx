import { useEffect, useState } from "preact/hooks";
import { api, may } from "../api";
import { navigate, useLocation } from "../router";
import { initial, SchemaForm } from "../components/SchemaForm";
import type { JsonSchema } from "../types";

interface WorkflowSummary {
  id: string;
  version: number;
  description?: string | null;
}

interface Definition extends WorkflowSummary {
  inputs?: JsonSchema | null;
  steps: { id: string }[];
}

async function parse(text: string): Promise<unknown> {
  try {
    return JSON.parse(text);
  } catch {
    const { parse: parseYaml } = await import("yaml"); // only when YAML is pasted
    return parseYaml(text);
  }
}

/** Pick a registered workflow, fill its inputs (a form from its schema, or JSON/YAML
 * pasted), submit, and land on the new execution's page. */
export function NewExecution() {
  const { search } = useLocation();
  const [workflows, setWorkflows] = useState<WorkflowSummary[] | null>(null);
  const [chosen, setChosen] = useState(search.get("workflow") ?? "");
  const [definition, setDefinition] = useState<Definition | null>(null);
  const [input, setInput] = useState<unknown>({});
  const [pasting, setPasting] = useState(false);
  const [pasted, setPasted] = useState("");
  const [metadata, setMetadata] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api<{ items: WorkflowSummary[] }>("/api/v1/workflows")
      .then((body) => {
        setWorkflows(body.items);
        if (!chosen && body.items.length) setChosen(body.items[0].id);
      })
      .catch((e) => setError((e as Error).message));
  }, []);

  useEffect(() => {
    if (!chosen) return;
    setDefinition(null);
    api<Definition>(`/api/v1/workflows/${encodeURIComponent(chosen)}`)
      .then((d) => {
        setDefinition(d);
        setInput(initial(d.inputs));
      })
      .catch((e) => setError((e as Error).message));
  }, [chosen]);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      let body: Record<string, unknown> = { workflow_id: chosen, input };
      if (pasting) {
        const given = await parse(pasted);
        const whole = given && typeof given === "object" && ("steps" in given || "workflow" in given || "workflow_id" in given);
        body = whole ? (("steps" in (given as object)) ? { workflow: given } : (given as Record<string, unknown>)) : { workflow_id: chosen, input: given };
      }
      const meta = Object.fromEntries(
        metadata.split(/\s+/).filter((p) => p.includes("=")).map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]),
      );
      if (Object.keys(meta).length) body.metadata = { ...(body.metadata as object), ...meta };
      const created = await api<{ id: string }>("/api/v1/executions", { method: "POST", json: body });
      navigate(`/executions/${created.id}`);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="panel narrow">
      <h1>New execution</h1>
      {workflows && workflows.length === 0 && (
        <p class="muted">
          No workflow is registered: register one (<code>execflow workflow register file.yaml</code>) or paste a whole
          workflow below.
        </p>
      )}
      <form onSubmit={submit} class="form" aria-label="new execution">
        <div class="field">
          <label for="workflow">Workflow</label>
          <select id="workflow" value={chosen} onChange={(e) => setChosen((e.target as HTMLSelectElement).value)}>
            {(workflows ?? []).map((w) => (
              <option value={w.id}>
                {w.id} (v{w.version}){w.description ? ` — ${w.description}` : ""}
              </option>
            ))}
          </select>
        </div>
        <div class="tabs" role="tablist">
          <button type="button" role="tab" aria-selected={!pasting} onClick={() => setPasting(false)}>
            Form
          </button>
          <button type="button" role="tab" aria-selected={pasting} onClick={() => setPasting(true)}>
            Paste JSON or YAML
          </button>
        </div>
        {pasting ? (
          <div class="field">
            <label for="pasted">The input — or a whole request or workflow (with <code>steps</code>)</label>
            <textarea id="pasted" rows={10} value={pasted} onInput={(e) => setPasted((e.target as HTMLTextAreaElement).value)} />
          </div>
        ) : definition ? (
          <fieldset class="inputs">
            <legend>Inputs</legend>
            <SchemaForm schema={definition.inputs} value={input} onChange={setInput} />
          </fieldset>
        ) : (
          chosen && <p class="muted">Loading the workflow…</p>
        )}
        <div class="field">
          <label for="metadata">Metadata (key=value, space-separated)</label>
          <input id="metadata" value={metadata} onInput={(e) => setMetadata((e.target as HTMLInputElement).value)} />
        </div>
        <div class="actions">
          {may("operator") ? (
            <button type="submit" class="primary" disabled={busy || (!chosen && !pasting)}>
              Run
            </button>
          ) : (
            <span class="muted">A reader's key may not start executions.</span>
          )}
          {error && <span class="error" role="alert">{error}</span>}
        </div>
      </form>
    </section>
  );
}
