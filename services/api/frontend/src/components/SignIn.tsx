import { useState } from "preact/hooks";
import { ApiError, setToken, signIn, type Who } from "../api";

/** Asks for an API key (`execflow keys create`, or the one `execflow up` saved), kept
 * for this browser session only. */
export function SignIn({ onSignedIn, reason }: { onSignedIn: (who: Who) => void; reason?: string }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(reason ?? null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setToken(key.trim());
    try {
      onSignedIn(await signIn());
    } catch (e) {
      setToken(null);
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="panel sign-in">
      <h1>Sign in</h1>
      <p>
        execflow asks for an API key. <code>execflow up</code> saved an admin key in
        <code> ~/.config/execflow/credentials.json</code>; <code>execflow keys create</code> makes others.
        It is kept for this browser session only.
      </p>
      <form onSubmit={submit}>
        <input
          type="password"
          aria-label="API key"
          placeholder="efk_…"
          autocomplete="off"
          value={key}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)}
        />
        <button type="submit" class="primary" disabled={busy || !key.trim()}>
          Sign in
        </button>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
    </section>
  );
}
