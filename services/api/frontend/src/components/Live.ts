import { useEffect, useState } from "preact/hooks";
import { stream } from "../api";

export interface Overview {
  counts: Record<string, number>;
  running_now: { executions: number; steps: number };
  queues: { queue: string; waiting: number; leased: number }[];
  workers: Worker[] | null;
}

export interface Worker {
  id: string;
  host: string;
  pid: number;
  queues: string[];
  backends: string[];
  capacity: number;
  running: { execution_id: string; step_id: string; attempt: number; backend: string; started_at: string }[];
  started_at: string;
  last_heartbeat: string;
}

/** The engine overview, live (its SSE stream sends it now and on every change). */
export function useOverview(): Overview | null {
  const [overview, setOverview] = useState<Overview | null>(null);
  useEffect(() => stream("/api/v1/engine/overview/stream", { overview: setOverview }), []);
  return overview;
}
