import { useEffect, useRef, useState } from "preact/hooks";
import { stream } from "../api";

interface Line {
  id: number;
  step_id: string;
  attempt: number;
  stream: string;
  at: string;
  line: string;
}

const KEEP = 5000; // lines kept in the page; the API keeps them all

/** Every line of the execution as it is written (SSE; EventSource resumes after the
 * last line it saw with Last-Event-ID), shown for one step or all. */
export function Logs({ id, step }: { id: string; step: string | null }) {
  const [lines, setLines] = useState<Line[]>([]);
  const [ended, setEnded] = useState(false);
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLPreElement>(null);

  useEffect(() => {
    setLines([]);
    setEnded(false);
    let pending: Line[] = [];
    let frame = 0;
    const flush = () => {
      frame = 0;
      const batch = pending;
      pending = [];
      setLines((current) => [...current, ...batch].slice(-KEEP));
    };
    let close = () => {};
    close = stream(`/api/v1/executions/${id}/logs?follow=true`, {
      line: (line: Line) => {
        pending.push(line);
        if (!frame) frame = requestAnimationFrame(flush);
      },
      end: () => {
        if (frame) cancelAnimationFrame(frame);
        flush();
        setEnded(true);
        close();
      },
    });
    return () => {
      close();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [id]);

  const shown = step ? lines.filter((l) => l.step_id === step) : lines;
  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [shown.length, follow]);

  return (
    <div class="logs">
      <div class="logs-head">
        <strong>Logs{step ? ` · ${step}` : ""}</strong>
        <span class="muted">
          {shown.length} lines{ended ? " · complete" : " · following"}
        </span>
        <label class="check">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow((e.target as HTMLInputElement).checked)} />
          scroll with new lines
        </label>
      </div>
      <pre ref={box} class="log-lines" aria-live="off" data-testid="logs">
        {shown.map((l) => (
          <div class={`log-line ${l.stream}`} key={l.id}>
            {!step && <span class="log-step">{l.step_id}</span>}
            {l.line}
          </div>
        ))}
      </pre>
    </div>
  );
}
