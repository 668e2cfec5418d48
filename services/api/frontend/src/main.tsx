import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, SIGN_IN_EVENT, setToken, signIn, type Who } from "./api";
import { SignIn } from "./components/SignIn";
import "./styles.css";
import { match, navigate, onLinkClick, useLocation } from "./router";
import { Board } from "./pages/Board";
import { ExecutionPage } from "./pages/Execution";
import { NewExecution } from "./pages/NewExecution";
import { Analytics } from "./pages/Analytics";
import { Workers } from "./pages/Workers";
import { Workflows } from "./pages/Workflows";

// Path, name, key, and the name on a phone.
const NAV: [string, string, string, string][] = [
  ["/", "Board", "b", "Board"],
  ["/new", "New execution", "n", "New"],
  ["/analytics", "Analytics", "a", "Charts"],
  ["/workers", "Workers & queues", "w", "Workers"],
  ["/workflows", "Workflows & schedules", "f", "Workflows"],
];

function toggleTheme(): void {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  document.documentElement.dataset.theme = next;
  localStorage.setItem("execflow.theme", next);
}

function typing(target: EventTarget | null): boolean {
  const element = target as HTMLElement | null;
  return !!element && (["INPUT", "TEXTAREA", "SELECT"].includes(element.tagName) || element.isContentEditable);
}

// Single keys, as in most operators' tools: b/n/a/w/f go to a page, t flips the theme,
// / finds (the focused page's search box).
function useKeys(): void {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.metaKey || event.ctrlKey || event.altKey || typing(event.target)) return;
      const page = NAV.find(([, , key]) => key === event.key);
      if (page) navigate(page[0]);
      else if (event.key === "t") toggleTheme();
      else if (event.key === "/") {
        const search = document.querySelector<HTMLInputElement>("[data-search]");
        if (search) {
          event.preventDefault();
          search.focus();
        }
      } else return;
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, []);
}

function Page({ path }: { path: string }) {
  let params: Record<string, string> | null;
  if ((params = match("/executions/:id", path))) return <ExecutionPage key={params.id} id={params.id} />;
  if (path === "/" || path === "/board") return <Board />;
  if (path === "/new") return <NewExecution />;
  if (path === "/analytics") return <Analytics />;
  if (path === "/workers") return <Workers />;
  if ((params = match("/workflows/:id", path))) return <Workflows selected={params.id} />;
  if (path === "/workflows") return <Workflows />;
  return (
    <section class="panel">
      <h1>Not found</h1>
      <p>
        No page at <code>{path}</code>. <a href="/">Back to the board</a>.
      </p>
    </section>
  );
}

// Who the key is: undefined while asking, null when a key is needed.
function useWho(): [Who | null | undefined, (who: Who | null) => void] {
  const [who, setWho] = useState<Who | null | undefined>(undefined);
  useEffect(() => {
    signIn()
      .then(setWho)
      .catch((e) => setWho(e instanceof ApiError && e.status === 401 ? null : undefined));
    const again = () => setWho(null);
    addEventListener(SIGN_IN_EVENT, again);
    return () => removeEventListener(SIGN_IN_EVENT, again);
  }, []);
  return [who, setWho];
}

function signOut(): void {
  setToken(null);
  location.reload();
}

function App() {
  const { path } = useLocation();
  const [who, setWho] = useWho();
  useKeys();
  const current = (href: string) => (href === "/" ? path === "/" : path.startsWith(href));
  return (
    <div class="app" onClick={onLinkClick}>
      <header class="top">
        <a href="/" class="brand" aria-label="execflow board">
          execflow
        </a>
        <nav aria-label="pages">
          {NAV.map(([href, name, key, short]) => (
            <a href={href} aria-current={current(href) ? "page" : undefined} title={`${name} (${key})`} aria-label={name}>
              <span class="wide">{name}</span>
              <span class="narrow">{short}</span>
            </a>
          ))}
        </nav>
        {who && (
          <span class="who" title={who.key_id ? `key ${who.key_id}` : "auth is off"} data-namespace={who.namespace}>
            {who.namespace} · {who.auth === "off" ? "auth off" : who.role}
          </span>
        )}
        {who?.key_id && (
          <button class="ghost" onClick={signOut} title="Forget the key in this browser">
            Sign out
          </button>
        )}
        <button class="ghost" onClick={toggleTheme} title="Dark or light theme (t)" aria-label="toggle theme">
          ◐
        </button>
      </header>
      <main>
        {who === null ? <SignIn onSignedIn={setWho} /> : who ? <Page path={path} /> : null}
      </main>
    </div>
  );
}

render(<App />, document.getElementById("app")!);
