"""Queue keys: a namespace's queue on the bus, and back."""

import pytest

from execflow_contracts import Topology, queue_key, queues_in, split_queue_key

T = Topology("p")


def test_default_s_queues_keep_the_names_and_subjects_they_had() -> None:
    assert queue_key(None, "gpu") == queue_key("default", "gpu") == "gpu"
    assert T.work("gpu") == "p.work.gpu"
    assert T.runner_consumer("gpu") == "runner-gpu"


def test_another_namespace_s_queue_is_another_queue() -> None:
    key = queue_key("team-a", "gpu")
    assert key == "team-a/gpu"
    assert split_queue_key(key) == ("team-a", "gpu")
    assert T.work(key) == "p.work.team-a.gpu" != T.work("gpu")
    assert T.runner_consumer(key) != T.runner_consumer("gpu")
    assert "." not in T.runner_consumer(key) and "/" not in T.runner_consumer(key)


@pytest.mark.parametrize(
    ("namespace", "queue", "function"),
    [
        (None, "gpu", None),
        ("team-a", "gpu", None),
        (None, "gpu", "add"),
        ("team-a", "gpu", "add"),
        # A queue, a namespace and a function may all be named `fn`.
        ("fn", "fn", "fn"),
        (None, "fn", "fn"),
        ("a", "fn", None),
        ("fn", "q", None),
    ],
)
def test_a_work_subject_says_its_queue_and_function(
    namespace: str | None, queue: str, function: str | None
) -> None:
    key = queue_key(namespace, queue)
    subject = T.function_work(key, function) if function else T.work(key)
    assert T.queue_of_work(subject) == (key, function)


def test_a_key_that_is_no_queue_is_refused_with_what_it_should_be() -> None:
    for wrong in ("a/b/c", "Team/gpu", "", "gpu.x", "/gpu"):
        with pytest.raises(ValueError, match="is not a queue"):
            split_queue_key(wrong)


def test_a_namespace_s_queues_among_keys() -> None:
    keys = ["gpu", "team-a/gpu", "team-b/gpu", "team-a/cpu"]
    assert queues_in("team-a", keys) == ["gpu", "cpu"]
    assert queues_in("default", keys) == ["gpu"]
