"""deploy/compose.yaml and deploy/kubernetes/, read as their tools read them: no stack
of them runs here (no image can be pulled, no cluster runs). Each service must be given
its own credentials only, and never the admin's or the schema owner's.

`docker-compose config` (Debian's docker-compose, which `.ci/run` installs) resolves the
compose file with the env files `execflow privileges env` writes; without it that test
skips, unless EXECFLOW_REQUIRE_COMPOSE=1."""

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from typer.testing import CliRunner

from execflow_devstack.processes import SERVICES
from execflow_ops.cli_privileges import app
from execflow_ops.deployment import ADMIN, AUTHORIZATION_FILE
from execflow_ops.privileges import Passwords

from .test_kubernetes_jobs import VERSIONS

DEPLOY = Path(__file__).parents[2] / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
SECRETS = "${EXECFLOW_SECRETS:-./secrets}"
# What no service may be handed but through its own env file or Secret.
CREDENTIALS = {
    "EXECFLOW_NATS_URL",
    "EXECFLOW_DATABASE_URL",
    "EXECFLOW_API_KEY",
    "EXECFLOW_SECRETS_KEY",
}
OWNER_PASSWORD = "owner-password-of-the-test"


def compose() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def test_each_compose_service_reads_its_own_env_file_only() -> None:
    services = compose()
    for name in SERVICES:
        assert services[name]["env_file"] == [f"{SECRETS}/{name}.env"], name
        assert not CREDENTIALS & set(services[name].get("environment", {})), name
        assert "secrets" not in str(services[name].get("volumes", [])), name
    assert services["setup"]["env_file"] == [f"{SECRETS}/{ADMIN}.env"]
    assert services["postgres"]["env_file"] == [f"{SECRETS}/postgres.env"]
    readers = {name for name, s in services.items() if f"{ADMIN}.env" in str(s)}
    assert readers == {"setup"}


def test_the_services_start_after_setup_which_migrates_and_grants() -> None:
    services = compose()
    setup = " ".join(services["setup"]["command"])
    assert "execflow migrate && execflow privileges grant" in setup
    for name in SERVICES:
        assert services[name]["depends_on"]["setup"] == {
            "condition": "service_completed_successfully"
        }
    assert services["setup"]["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_nats_includes_the_authorization_mounted_beside_its_config() -> None:
    nats = compose()["nats"]
    config = "/etc/nats/nats.conf"
    assert nats["command"][:2] == ["-c", config]
    # `source:target:ro`, the source possibly `${…:-…}` (a colon of its own).
    read_only = [v.rsplit(":", 2) for v in nats["volumes"] if v.endswith(":ro")]
    mounts = {target: source for source, target, _ in read_only}
    assert mounts[config] == "./nats/nats.conf"
    assert mounts[f"/etc/nats/{AUTHORIZATION_FILE}"] == f"{SECRETS}/{AUTHORIZATION_FILE}"
    assert f"include ./{AUTHORIZATION_FILE}" in (DEPLOY / "nats/nats.conf").read_text()


@pytest.fixture
def secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The secrets folder as deploy/README.md says to make it."""
    monkeypatch.setenv("EXECFLOW_NATS_URL", "nats://nats:4222")
    url = f"postgresql://execflow:{OWNER_PASSWORD}@postgres:5432/execflow"
    monkeypatch.setenv("EXECFLOW_DATABASE_URL", url)
    folder = tmp_path / "secrets"
    result = CliRunner().invoke(app, ["env", "--out", str(folder), "--no-grant"])
    assert result.exit_code == 0, result.output
    owner = f"POSTGRES_USER=execflow\nPOSTGRES_DB=execflow\nPOSTGRES_PASSWORD={OWNER_PASSWORD}\n"
    (folder / "postgres.env").write_text(owner)
    return folder


def docker_compose_config(secrets: Path) -> dict[str, Any]:
    found = shutil.which("docker-compose")
    if found is None:
        if os.environ.get("EXECFLOW_REQUIRE_COMPOSE") == "1":
            pytest.fail("EXECFLOW_REQUIRE_COMPOSE=1, but docker-compose is not installed")
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    env = os.environ | {"EXECFLOW_SECRETS": str(secrets)}
    done = subprocess.run(
        [found, "-f", str(COMPOSE), "config"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    resolved: dict[str, Any] = yaml.safe_load(done.stdout)["services"]
    return resolved


def test_docker_compose_gives_each_service_its_own_credentials(secrets: Path) -> None:
    services = docker_compose_config(secrets)
    known = Passwords(secrets / "passwords.json").known()
    for name in SERVICES:
        environment = " ".join(services[name]["environment"].values())
        own = {f"nats:{name}", f"postgres:execflow_{name}"}
        for secret_name, secret in known.items():
            assert (secret in environment) == (secret_name in own), (name, secret_name)
        assert OWNER_PASSWORD not in environment, name
        assert f"nats://{name}:" in services[name]["environment"]["EXECFLOW_NATS_URL"]
    setup = services["setup"]["environment"]
    assert setup["EXECFLOW_NATS_URL"].startswith("nats://admin:")
    assert OWNER_PASSWORD in setup["EXECFLOW_DATABASE_URL"]


def kubernetes_documents() -> list[dict[str, Any]]:
    return [
        document
        for path in sorted((DEPLOY / "kubernetes").glob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text())
        if document
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_kubernetes_manifest_is_valid_kubernetes(version: str) -> None:
    for document in kubernetes_documents():
        kubernetes_validate.validate(document, version, strict=True)


def secrets_of(document: dict[str, Any]) -> set[str]:
    containers = document["spec"]["template"]["spec"]["containers"]
    for container in containers:
        assert not CREDENTIALS & {item["name"] for item in container.get("env", [])}
    return {source["secretRef"]["name"] for c in containers for source in c.get("envFrom", [])}


def test_each_kubernetes_service_takes_its_own_secret_only() -> None:
    documents = kubernetes_documents()
    deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
    assert {f"execflow-{name}" for name in SERVICES} <= set(deployments)
    for name in SERVICES:
        assert secrets_of(deployments[f"execflow-{name}"]) == {f"execflow-{name}"}, name
    # kontinue's aggregated API is an api as well.
    assert secrets_of(deployments["execflow-api-aggregated"]) == {"execflow-api"}
    (job,) = [d for d in documents if d["kind"] == "Job"]
    assert secrets_of(job) == {"execflow-admin"}
    volumes = job["spec"]["template"]["spec"]["volumes"]
    assert [v["secret"]["secretName"] for v in volumes] == ["execflow-passwords"]
    for deployment in deployments.values():
        volumes = deployment["spec"]["template"]["spec"].get("volumes", [])
        assert not [
            v
            for v in volumes
            if v.get("secret", {}).get("secretName", "").endswith(("admin", "passwords"))
        ]
