"""The CLI's global options are read wherever they are on the line."""

import pytest

from execflow.cli_options import hoisted


@pytest.mark.parametrize(
    ("given", "read"),
    [
        (["execution", "list", "--api", "U"], ["--api", "U", "execution", "list"]),
        (["execution", "list", "--api=U"], ["--api=U", "execution", "list"]),
        (["--json", "execution", "get", "X"], ["execution", "get", "X", "--json"]),
        (["--api", "U", "worker", "list"], ["--api", "U", "worker", "list"]),
        (["run", "f", "--json", "--", "--api", "x"], ["run", "f", "--json", "--", "--api", "x"]),
        (["execution", "list", "--api"], ["execution", "list", "--api"]),
    ],
)
def test_global_options_move_where_the_root_reads_them(given: list[str], read: list[str]) -> None:
    assert hoisted(given) == read
