import { useEffect, useRef, useState } from "preact/hooks";
import { api, query, stream } from "../api";
import { age, label, short, span } from "../format";
import { navigate, useLocation } from "../router";
import { Actions } from "../components/Actions";
import type { Card, Column } from "../types";

const COLUMNS: [string, string][] = [
  ["queued", "Pending / queued"],
  ["running", "Running"],
  ["awaiting_input", "Awaiting input"],
  ["completed", "Completed"],
  ["failed", "Failed"],
  ["stopped", "Cancelled / timed out"],
];
const FILTERS = ["workflow_id", "queue", "q", "meta"] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;
// The filters beside the search box: name in the URL, label, placeholder.
const FIELDS: [(typeof FILTERS)[number], string, string][] = [
  ["workflow_id", "workflow", "workflow"],
  ["queue", "queue", "queue"],
  ["meta", "metadata", "metadata  key=value"],
];

/** The listing's filters as the API takes them: `meta` "k=v k2=v2" is metadata.k=v… */
function apiQuery(filters: Filters, extra: Record<string, string | number> = {}): string {
  const params: Record<string, string | number> = { ...extra };
  for (const key of ["workflow_id", "queue", "q"] as const) if (filters[key]) params[key] = filters[key]!;
  for (const pair of (filters.meta ?? "").split(/\s+/)) {
    const at = pair.indexOf("=");
    if (at > 0) params[`metadata.${pair.slice(0, at)}`] = pair.slice(at + 1);
  }
  return query(params);
}

function place(columns: Record<string, Column>, card: Card): Record<string, Column> {
  const next: Record<string, Column> = {};
  let old: Card | undefined;
  for (const [name, column] of Object.entries(columns)) {
    const found = column.items.find((c) => c.id === card.id);
    if (found) old = found;
    next[name] = { ...column, items: column.items.filter((c) => c.id !== card.id) };
  }
  if (old && old.version !== null && card.version !== null && old.version > card.version) return columns;
  if (old && old.column !== card.column) next[old.column].count = Math.max(0, next[old.column].count - 1);
  const target = next[card.column];
  if (!target) return columns;
  if (!old || old.column !== card.column) target.count += 1;
  target.items = [card, ...target.items].sort((a, b) => b.created_at.localeCompare(a.created_at));
  return next;
}

export function Board() {
  const { search } = useLocation();
  const filters: Filters = Object.fromEntries(FILTERS.map((k) => [k, search.get(k) ?? ""]));
  const key = apiQuery(filters);
  const [columns, setColumns] = useState<Record<string, Column> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState(false);
  const [, setNow] = useState(Date.now());
  const loads = useRef(0);

  useEffect(() => {
    let closed = false;
    const load = async () => {
      const mine = ++loads.current;
      try {
        const board = await api<{ columns: Record<string, Column> }>(`/api/v1/board${apiQuery(filters, { limit: 30 })}`);
        if (!closed && mine === loads.current) {
          setColumns(board.columns);
          setError(null);
        }
      } catch (e) {
        if (!closed) setError((e as Error).message);
      }
    };
    // Watch first, then read: a change while reading arrives on the stream after it.
    const close = stream(
      `/api/v1/board/stream${key}`,
      {
        ready: () => load(),
        resync: () => load(),
        card: (card: Card) => setColumns((current) => (current ? place(current, card) : current)),
      },
      { onOpen: () => setLive(true), onError: () => setLive(false) },
    );
    const clock = setInterval(() => setNow(Date.now()), 1000); // ages and durations only
    return () => {
      closed = true;
      close();
      clearInterval(clock);
    };
  }, [key]);

  function setFilter(name: string, value: string) {
    const next = new URLSearchParams(location.search);
    if (value) next.set(name, value);
    else next.delete(name);
    const text = next.toString();
    navigate(`/${text ? `?${text}` : ""}`, true);
  }

  return (
    <section class="board-page">
      <div class="toolbar">
        <h1>Board</h1>
        <span class={live ? "live on" : "live"} title={live ? "live: cards move as executions change" : "reconnecting"}>
          {live ? "live" : "offline"}
        </span>
        <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="filters">
          <input
            data-search
            type="search"
            placeholder="Search name or id"
            title="Search by name or id ( / )"
            aria-label="search"
            value={filters.q}
            onChange={(e) => setFilter("q", (e.target as HTMLInputElement).value)}
          />
          {FIELDS.map(([name, label, placeholder]) => (
            <input
              placeholder={placeholder}
              aria-label={label}
              value={filters[name]}
              onChange={(e) => setFilter(name, (e.target as HTMLInputElement).value)}
            />
          ))}
        </form>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      <div class="columns">
        {COLUMNS.map(([name, title]) => {
          const column = columns?.[name];
          return (
            <section class={`column col-${name}`} data-column={name} aria-label={title}>
              <h2>
                {title}
                <span class="count">{column ? `${column.count}${column.capped ? "+" : ""}` : "…"}</span>
              </h2>
              <ul>
                {column?.items.map((card) => (
                  <CardView card={card} />
                ))}
              </ul>
              {column && column.items.length === 0 && <p class="empty">none</p>}
            </section>
          );
        })}
      </div>
    </section>
  );
}

function CardView({ card }: { card: Card }) {
  const counts = card.step_counts;
  const done = (counts.succeeded ?? 0) + (counts.skipped ?? 0);
  const progress = card.progress?.max ? Math.min(1, card.progress.current / card.progress.max) : done / (card.n_steps || 1);
  const open = () => navigate(`/executions/${card.id}`);
  const duration = card.started_at ? (card.completed_at ? card.duration_ms : Date.now() - Date.parse(card.started_at)) : null;
  return (
    <li
      class={`card status-${card.status}`}
      data-id={card.id}
      data-status={card.status}
      tabIndex={0}
      onClick={open}
      onKeyDown={(e) => e.key === "Enter" && e.target === e.currentTarget && open()}
      aria-label={`${card.name ?? short(card.id)}: ${label(card.status)}`}
    >
      <div class="card-head">
        <a href={`/executions/${card.id}`} class="name">
          {card.name ?? card.workflow_id ?? "ad hoc"}
        </a>
        <span class={`badge ${card.status}`}>{label(card.status)}</span>
      </div>
      <div class="meta">
        <code>{short(card.id)}</code>
        <span title={card.created_at}>{age(card.created_at)}</span>
        {duration !== null && <span title="duration">{card.completed_at ? "took" : "running for"} {span(duration)}</span>}
      </div>
      <div class="progress" role="progressbar" aria-valuenow={Math.round(progress * 100)} aria-valuemin={0} aria-valuemax={100}>
        <span style={{ width: `${Math.round(progress * 100)}%` }} />
      </div>
      <div class="meta">
        <span>
          {done}/{card.n_steps} steps
        </span>
        {counts.running ? <span class="running-steps">{counts.running} running</span> : null}
        {counts.failed ? <span class="failed-steps">{counts.failed} failed</span> : null}
        {card.queue && <span class="queue">{card.queue}</span>}
      </div>
      {card.message && card.status !== "completed" && card.message !== label(card.status) && <p class="message">{card.message}</p>}
      <Actions id={card.id} status={card.status} compact />
    </li>
  );
}
