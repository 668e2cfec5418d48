"""What the step protocol's `progress` and `question` lines become as commands, for a
runner and for a remote agent alike."""

from typing import Any

from .commands import ReportStepProgress, ReportStepQuestion


def progress_report(raw: dict[str, Any], sequence: int, **who: Any) -> ReportStepProgress:
    """The command a `progress` line becomes, from a runner or a remote agent alike."""
    maximum = raw.get("max")
    return ReportStepProgress(
        current=float(raw.get("current", 0)),
        max=float(maximum) if maximum is not None else None,
        message=str(raw.get("message", "")),
        sequence=sequence,
        **who,
    )


def question_report(raw: dict[str, Any], sequence: int, **who: Any) -> ReportStepQuestion:
    """The command a `question` line becomes: the execution waits for the answer."""
    return ReportStepQuestion(
        prompt=str(raw.get("prompt", "")),
        input_schema=raw.get("schema"),
        sequence=sequence,
        **who,
    )
