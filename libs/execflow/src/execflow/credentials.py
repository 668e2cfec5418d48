"""Where the CLI finds its API key without flags: `--api-key` / EXECFLOW_API_KEY, else
the key saved for that API's URL in the user's config folder
(`$XDG_CONFIG_HOME/execflow/credentials.json`, `~/.config/…` by default; mode 0600),
which `execflow up` writes when it makes the first admin key."""

import json
import os
from pathlib import Path

FILE_NAME = "credentials.json"


def credentials_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "execflow" / FILE_NAME


def saved_keys(path: Path | None = None) -> dict[str, str]:
    try:
        data = json.loads((path or credentials_file()).read_text())
    except (OSError, ValueError):
        return {}
    keys = data.get("keys") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in keys.items()} if isinstance(keys, dict) else {}


def saved_key(api_url: str, path: Path | None = None) -> str | None:
    return saved_keys(path).get(api_url.rstrip("/"))


def key_for(api_url: str, given: str | None = None) -> str | None:
    """The key a client sends: the one given, else EXECFLOW_API_KEY, else the one saved
    for `api_url`; None when there is none (an API with auth off needs none)."""
    return given or os.environ.get("EXECFLOW_API_KEY") or saved_key(api_url)


def bearer(key: str | None) -> dict[str, str] | None:
    return {"Authorization": f"Bearer {key}"} if key else None


def save_key(api_url: str, key: str, path: Path | None = None) -> Path:
    """Keep `key` for `api_url`, readable by this user only (0600, folder 0700)."""
    path = path or credentials_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    keys = saved_keys(path) | {api_url.rstrip("/"): key}
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump({"keys": keys}, file, indent=2)
    os.chmod(path.with_suffix(".tmp"), 0o600)
    os.replace(path.with_suffix(".tmp"), path)
    return path
