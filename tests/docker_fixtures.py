"""A real Docker engine for the tests, and a tiny image they build themselves.

No image can be pulled here, so the image is `docker import`ed from a root filesystem
made of Debian's static busybox. Without an engine these tests skip, unless
EXECFLOW_REQUIRE_DOCKER=1 (as in CI): then they fail.
"""

import io
import os
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from docker.errors import DockerException, ImageNotFound

from execflow_contracts import DEPLOYMENT_LABEL

IMAGE = "execflow-test/busybox:latest"
BUSYBOX = Path("/bin/busybox")


def _unavailable(reason: str) -> None:
    if os.environ.get("EXECFLOW_REQUIRE_DOCKER") == "1":
        pytest.fail(f"EXECFLOW_REQUIRE_DOCKER=1, but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = docker.from_env()
        client.ping()
    except DockerException as exc:
        _unavailable(f"no Docker engine answers: {exc}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def busybox_image(docker_client: docker.DockerClient) -> str:
    """The test image; built once, kept for the next session."""
    try:
        docker_client.images.get(IMAGE)
    except ImageNotFound:
        if not BUSYBOX.exists():
            _unavailable(f"{BUSYBOX} is missing (apt-get install busybox-static)")
        repository, tag = IMAGE.rsplit(":", 1)
        docker_client.api.import_image_from_data(rootfs(), repository=repository, tag=tag)
    return IMAGE


@pytest.fixture
def deployment_cleanup(docker_client: docker.DockerClient) -> Iterator[list[str]]:
    """Deployments (bus prefixes) whose containers are removed after the test."""
    deployments: list[str] = []
    yield deployments
    for deployment in deployments:
        for found in docker_client.api.containers(
            all=True, filters={"label": f"{DEPLOYMENT_LABEL}={deployment}"}
        ):
            docker_client.api.remove_container(found["Id"], force=True)


def rootfs() -> bytes:
    """A tar of /bin/busybox with a link per applet, and the folders a step expects."""
    applets = subprocess.run(
        [str(BUSYBOX), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for folder, mode in (("bin", 0o755), ("tmp", 0o1777), ("workspace", 0o755)):
            entry = tarfile.TarInfo(folder)
            entry.type, entry.mode = tarfile.DIRTYPE, mode
            tar.addfile(entry)
        tar.add(BUSYBOX, arcname="bin/busybox")
        for applet in applets:
            if applet != "busybox":
                link = tarfile.TarInfo(f"bin/{applet}")
                link.type, link.linkname = tarfile.SYMTYPE, "busybox"
                tar.addfile(link)
    return buffer.getvalue()
