export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "";
  return span(now - Date.parse(iso)) + " ago";
}

export function span(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = s / 60;
  if (m < 60) return `${Math.floor(m)} min ${Math.round(s % 60)} s`;
  const h = m / 60;
  if (h < 24) return `${Math.floor(h)} h ${Math.round(m % 60)} min`;
  return `${Math.floor(h / 24)} d ${Math.round(h % 24)} h`;
}

export function time(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : "–";
}

export function short(id: string): string {
  return id.slice(0, 8);
}

export function label(status: string): string {
  return status.replace(/_/g, " ");
}

export const TERMINAL = new Set(["completed", "failed", "cancelled", "timed_out"]);
