"""`execflow up`'s secrets key: EXECFLOW_SECRETS_KEY if set, else one made on the first
start and kept in the data folder (mode 0600), so that secrets set before a restart
still open after it. Lose the file and the stored secrets are lost with it."""

import os
from pathlib import Path

from execflow_catalogue.secrets import SecretsKey

KEY_FILE = "secrets.key"
VARIABLE = "EXECFLOW_SECRETS_KEY"


def secrets_key(data_dir: Path, configured: str | None = None) -> str:
    if configured:
        return configured
    path = data_dir / KEY_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = SecretsKey.generate()
    # Made with its mode: never readable by others, not even for a moment.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(key + "\n")
    return key
