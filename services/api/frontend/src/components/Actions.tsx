import { useState } from "preact/hooks";
import { api, may } from "../api";
import { TERMINAL } from "../format";

type Outcome = { id?: string };

/** Cancel, retry and resume: the lifecycle commands, each a POST answered 202. */
export function Actions({
  id,
  status,
  onDone,
  compact = false,
  withResume = true,
}: {
  id: string;
  status: string;
  onDone?: (what: string, outcome: Outcome) => void;
  compact?: boolean;
  withResume?: boolean; // the execution page has its own form
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [answering, setAnswering] = useState(false);
  const [answer, setAnswer] = useState("{}");

  async function run(what: string, json?: unknown) {
    setBusy(true);
    setError(null);
    try {
      const outcome = await api<Outcome>(`/api/v1/executions/${id}/${what}`, { method: "POST", json: json ?? {} });
      setAnswering(false);
      onDone?.(what, outcome);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  function resume(event: Event) {
    event.preventDefault();
    let input: unknown;
    try {
      input = JSON.parse(answer);
    } catch {
      setError("the answer is not JSON");
      return;
    }
    run("resume", { input });
  }

  const stop = (event: Event) => event.stopPropagation();
  if (!may("operator")) return null; // a reader's key may not cancel, retry or resume
  return (
    <div class={compact ? "actions compact" : "actions"} onClick={stop} onKeyDown={stop}>
      {!TERMINAL.has(status) && status !== "cancelling" && (
        <button disabled={busy} onClick={() => run("cancel", { reason: "cancelled from the dashboard" })}>
          Cancel
        </button>
      )}
      {TERMINAL.has(status) && (
        <button disabled={busy} onClick={() => run("retry")}>
          Retry
        </button>
      )}
      {withResume && status === "awaiting_input" && !answering && (
        <button disabled={busy} onClick={() => setAnswering(true)}>
          Resume
        </button>
      )}
      {answering && (
        <form class="answer" onSubmit={resume}>
          <textarea
            aria-label="answer (JSON)"
            value={answer}
            rows={2}
            onInput={(e) => setAnswer((e.target as HTMLTextAreaElement).value)}
          />
          <button type="submit" disabled={busy}>
            Send
          </button>
        </form>
      )}
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
