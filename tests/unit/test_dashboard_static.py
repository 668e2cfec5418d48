"""The API's pages of the dashboard: its built files, the page for every route of it,
and a clear answer when it is not built."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from execflow_api.dashboard import install_dashboard


def app_serving(folder: Path) -> TestClient:
    app = FastAPI()

    @app.get("/api/v1/here")
    def here() -> dict[str, bool]:
        return {"here": True}

    install_dashboard(app, folder)
    return TestClient(app)


def test_without_a_build_the_page_says_how_to_build_it(tmp_path: Path) -> None:
    client = app_serving(tmp_path / "dist")
    page = client.get("/")
    assert page.status_code == 503
    assert "make dashboard" in page.text
    assert client.get("/api/v1/here").json() == {"here": True}
    assert client.get("/api/v1/nowhere").status_code == 404


def test_a_build_answers_every_page_with_its_index_and_serves_its_assets(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>execflow</title>")
    (tmp_path / "assets" / "index-abc.js").write_text("console.log(1)")
    client = app_serving(tmp_path)
    for path in ("/", "/executions/0f1e", "/analytics?range=30d"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "<title>execflow</title>" in page.text
        assert page.headers["cache-control"] == "no-cache"
    assert client.get("/assets/index-abc.js").text == "console.log(1)"
    assert client.get("/assets/missing.js").status_code == 404
    assert client.get("/api/v1/nowhere").json() == {"detail": "not found"}
    assert client.get("/..%2f..%2fetc/passwd").text.startswith("<!doctype html>")
