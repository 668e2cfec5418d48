export interface Progress {
  current: number;
  max: number | null;
  message?: string | null;
  step_id?: string;
}

export interface Card {
  id: string;
  version: number | null;
  status: string;
  column: string;
  name: string | null;
  workflow_id: string | null;
  queue: string | null;
  message: string;
  metadata: Record<string, unknown>;
  n_steps: number;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  duration_ms: number | null;
  progress: Progress | null;
  step_counts: Record<string, number>;
}

export interface Column {
  statuses: string[];
  count: number;
  capped: boolean;
  items: Card[];
}

export interface Step {
  id: string;
  status: string;
  needs: string[];
  queue: string;
  attempts: number;
  worker: string | null;
  exit_code: number | null;
  error: string | null;
  message: string;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  output: unknown;
  prompt: string | null;
  schema: JsonSchema | null;
  child_id: string | null;
  progress: Progress | null;
}

export interface Attempt {
  step_id: string;
  attempt: number;
  delivery: number;
  status: string;
  worker: string | null;
  exit_code: number | null;
  error: string | null;
  error_kind: string | null;
  started_at: string | null;
  finished_at: string | null;
}

export interface Artifact {
  name: string;
  kind: string;
  step_id?: string;
  status?: string;
  size?: number | null;
  url: string;
}

export interface Execution extends Omit<Card, "column" | "step_counts"> {
  workflow: { steps: { id: string; needs?: string[]; type?: string }[] };
  input: unknown;
  output: unknown;
  error: unknown;
  steps: Step[];
  attempts: Attempt[];
  children: string[];
  parent_id: string | null;
  retry_of: string | null;
  retried_by: string | null;
  checkpoints: unknown[] | null;
  artifacts: Artifact[];
  n_agent_actions: number | null;
  n_screenshots: number | null;
  queue_wait_ms: number | null;
  workflow_version: number | null;
  priority: number;
}

export interface Transition {
  version: number;
  type: string;
  from: string | null;
  to: string;
  reason: string;
  actor: string;
  at: string;
}

export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  items?: JsonSchema;
  format?: string;
  minimum?: number;
  maximum?: number;
}
