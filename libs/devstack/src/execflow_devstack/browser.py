"""Debian's Chromium as the dashboard's tests and bench drive it (Playwright's own browser
download cannot work here: it fetches a build from outside the package registries)."""

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("EXECFLOW_CHROMIUM", "/usr/bin/chromium"))
# Headless, and nothing that reaches out of this machine (it has no network to reach).
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
