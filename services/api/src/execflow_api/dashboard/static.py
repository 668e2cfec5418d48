"""The built dashboard, served by the API at `/`.

Vite puts hashed files under `assets/` (cached for good) and `index.html`, which every
page of the dashboard answers with (it routes in the browser) and which is never cached.
Paths under `/api/` stay the API's: an unknown one is a JSON 404, not the page.
"""

from pathlib import Path

from fastapi import FastAPI, HTTPException, status
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>execflow</title>
<body style="font:16px system-ui;max-width:40em;margin:4em auto">
<h1>The dashboard is not built</h1>
<p>The API runs, but <code>{folder}</code> holds no built dashboard.
Build it with <code>make dashboard</code> (<code>make run</code> builds it when its
sources changed), or point <code>EXECFLOW_DASHBOARD_DIR</code> at a built one.</p>
<p>The API itself is at <a href="/docs">/docs</a>.</p>
"""
RESERVED = ("api/", "docs", "redoc", "openapi.json", "healthz", "readyz")


def install_dashboard(app: FastAPI, folder: Path) -> None:
    """Mount after every API route: the page's catch-all must come last."""
    assets = folder / "assets"
    if assets.is_dir():
        app.mount("/assets", StaticFiles(directory=assets), name="dashboard-assets")

    @app.get("/{path:path}", include_in_schema=False, response_model=None)
    def page(path: str) -> Response:  # plain: FastAPI runs it in a thread (file checks)
        if path.startswith(RESERVED):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
        index = folder / "index.html"
        if not index.is_file():
            return HTMLResponse(
                NOT_BUILT.format(folder=folder), status.HTTP_503_SERVICE_UNAVAILABLE
            )
        file = folder / path
        if path and file.is_file() and file.resolve().is_relative_to(folder.resolve()):
            return FileResponse(file)  # favicon and the like
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
