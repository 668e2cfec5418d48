"""One stack for every dialect's tests: they speak to the same execflow."""

from collections.abc import Iterator

import pytest

from execflow_devstack import Stack

from ..conftest import running_stack


@pytest.fixture(scope="package")
def stack(
    nats_url: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with running_stack(nats_url, database_url, tmp_path_factory.mktemp("dialects")) as running:
        yield running
