// The one way the dashboard talks to execflow: every request goes through `api`, every
// stream through `stream`. The API key, kept for the browser session (sessionStorage), is
// set with `setToken` and sent as a bearer token on requests and as `?token=` on
// EventSource streams (which cannot send headers). A 401 anywhere asks to sign in again.

const TOKEN_KEY = "execflow.token";

export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Who the key is: its namespace and role (what the dashboard shows and lets it do). */
export interface Who {
  key_id: string | null;
  namespace: string;
  role: "reader" | "operator" | "admin" | "agent";
  auth: "on" | "off";
}

let who: Who | null = null;
const RANKS: Record<string, number> = { reader: 1, operator: 2, admin: 3 };

export async function signIn(): Promise<Who> {
  who = await api<Who>("/api/v1/whoami");
  return who;
}

export function signedIn(): Who | null {
  return who;
}

/** Whether the key's role may take actions that need `role` (they are hidden if not). */
export function may(role: "operator" | "admin"): boolean {
  return !!who && (RANKS[who.role] ?? 0) >= RANKS[role];
}

export const SIGN_IN_EVENT = "execflow:sign-in";

function reason(body: unknown, status: number): string {
  const said = (body as { reason?: unknown } | null)?.reason;
  if (typeof said === "string") return said;
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d: { loc?: unknown[]; msg?: string }) => `${(d.loc ?? []).slice(1).join(".")}: ${d.msg}`)
      .join("; ");
  }
  const message = (body as { message?: unknown } | null)?.message;
  return typeof message === "string" ? message : `the API answered ${status}`;
}

export async function api<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const headers = new Headers(init.headers);
  const key = token();
  if (key) headers.set("Authorization", `Bearer ${key}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(init.json);
  }
  const response = await fetch(path, { ...init, headers, body });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  if (response.status === 401 && path !== "/api/v1/whoami") dispatchEvent(new Event(SIGN_IN_EVENT));
  if (!response.ok) throw new ApiError(response.status, reason(parsed, response.status));
  return parsed as T;
}

export type Handlers = Record<string, (data: any, id: string) => void>;

export interface StreamOptions {
  onOpen?: () => void;
  onError?: () => void;
}

/** An SSE stream; EventSource reconnects by itself, sending `Last-Event-ID`. Returns
 * the function that closes it. */
export function stream(path: string, handlers: Handlers, options: StreamOptions = {}): () => void {
  const url = new URL(path, location.origin);
  const key = token();
  if (key) url.searchParams.set("token", key);
  const source = new EventSource(url);
  for (const [kind, handle] of Object.entries(handlers)) {
    source.addEventListener(kind, (event) => {
      const message = event as MessageEvent<string>;
      handle(message.data ? JSON.parse(message.data) : null, message.lastEventId);
    });
  }
  if (options.onOpen) source.addEventListener("open", options.onOpen);
  source.addEventListener("error", () => options.onError?.());
  return () => source.close();
}

export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") search.set(k, String(v));
  const text = search.toString();
  return text ? `?${text}` : "";
}
