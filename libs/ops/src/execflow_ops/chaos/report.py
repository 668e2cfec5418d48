"""A chaos run's verdict as a table for people."""

from rich.console import Console
from rich.table import Table

from .run import Verdict


def show(verdict: Verdict, console: Console | None = None) -> None:
    console = console or Console()
    faults = Table(title="faults, and the time to run a new execution after each")
    for column in ("fault", "at (s)", "recovered in (s)"):
        faults.add_column(column)
    for fault in verdict.faults:
        recovered = "never" if fault.recovered_s is None else f"{fault.recovered_s:.1f}"
        faults.add_row(fault.name, f"{fault.at_s:.0f}", recovered)
    console.print(faults)
    ledger, stream = verdict.ledger, verdict.stream
    summary = Table(title=f"chaos: {'PASSED' if verdict.passed else 'FAILED'}", show_header=False)
    rows = [
        ("executions accepted", str(verdict.accepted)),
        ("submissions sent again", str(verdict.resends)),
        ("outcomes", ", ".join(f"{k} {v}" for k, v in sorted(verdict.outcomes.items()))),
        ("not completed (lost, stuck, failed)", str(len(verdict.not_completed))),
        ("step runs in the ledger", str(ledger.runs)),
        ("steps run again (at least once)", str(ledger.reruns)),
        ("runs beside a live run of the same step", str(len(ledger.concurrent))),
        ("finished runs overlapping", str(len(ledger.overlapping))),
        ("runs begun after the step succeeded", str(len(ledger.after_success))),
        ("read-model rows unlike a rebuild", str(sum(verdict.read_models_differ.values()))),
    ]
    if stream is not None:
        rows += [
            ("stored events / in EVENTS", f"{stream.stored} / {stream.in_stream}"),
            ("stored events missing from EVENTS", str(stream.missing)),
            ("events in EVENTS more than once", str(stream.repeated)),
        ]
    rows.append(("seconds", f"{verdict.seconds:.0f}"))
    for name, value in rows:
        summary.add_row(name, value)
    console.print(summary)
    for line in verdict.not_completed[:10]:
        console.print(f"  not completed: {line}")
    for line in (ledger.concurrent + ledger.overlapping + ledger.after_success)[:10]:
        console.print(f"  ledger: {line}")
