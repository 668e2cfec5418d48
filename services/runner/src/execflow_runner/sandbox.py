"""Process steps under bubblewrap (`bwrap`): what a step may see, touch and reach.

Each step runs in namespaces of its own: PID (it sees only its own processes, and when
its runner dies, bwrap's `--die-with-parent` takes the namespace's init with it, and
every process of the step dies with the namespace), mount (a root made of the system's
folders and the runner's Python, read-only, a private /tmp, /dev and /proc, and its
execution's workspace as the one writable folder it shares with anything), IPC (no
shared memory with the runner or PostgreSQL), and network (none but its own loopback,
unless the step says `network: true`). All capabilities are dropped and no program can
gain privileges (bwrap sets `no_new_privs`).

Folders are bind-mounted, never copied; the few system folders are bound whole rather
than file by file. What it costs a step's start is measured in the README.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

# Bound read-only: the system. Top-level folders that are symlinks (a merged /usr) are
# made as the same symlinks.
SYSTEM_FOLDERS = ("/usr", "/etc")
TOP_LEVEL_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Readable by their owner, and a runner run as root runs its steps as root (without
# capabilities, but the owner still): shown empty.
MASKED_FILES = ("/etc/shadow", "/etc/gshadow")
# Where a sandboxed step's HOME and TMPDIR point: its private, empty /tmp.
PRIVATE_TMP = "/tmp"


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing, or cannot make namespaces here."""


@dataclass(frozen=True)
class Sandbox:
    """The bwrap command line every step shares, and the folders it shows read-only."""

    prefix: tuple[str, ...]
    read_only: tuple[Path, ...]

    @classmethod
    def make(
        cls, bwrap: str, read_only: Iterable[Path] = (), hidden: Iterable[Path] = ()
    ) -> "Sandbox":
        """`read_only`: folders beyond the system's and the runner's Python; `hidden`:
        folders never shown (the data folder, every workspace), even when under one
        of those (covered with an empty tmpfs)."""
        roots = _outermost([Path(p) for p in SYSTEM_FOLDERS] + python_folders() + list(read_only))
        args = [bwrap, "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--new-session"]
        args += ["--cap-drop", "ALL"]
        for link in TOP_LEVEL_LINKS:
            path = Path(link)
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), link]
            elif path.is_dir():
                roots = _outermost([*roots, path])
        for root in roots:
            args += ["--ro-bind", str(root), str(root)]
        for masked in MASKED_FILES:
            if Path(masked).exists():
                args += ["--ro-bind", "/dev/null", masked]
        for folder in sorted({Path(h).resolve() for h in hidden}):
            if any(folder.is_relative_to(root) for root in roots):
                args += ["--tmpfs", str(folder)]
        args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", PRIVATE_TMP]
        return cls(tuple(args), tuple(roots))

    def command(
        self,
        command: Sequence[str],
        workspace: Path,
        cwd: Path,
        network: bool,
        info_fd: int,
    ) -> list[str]:
        """`command` in this sandbox, with `workspace` writable and `cwd` its folder;
        bwrap writes the namespace's init pid (as JSON) to `info_fd`."""
        args = list(self.prefix)
        if not network:
            args.append("--unshare-net")
        args += ["--bind", str(workspace), str(workspace), "--chdir", str(cwd)]
        args += ["--info-fd", str(info_fd), "--", *command]
        return args

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        """What changes in a step's environment inside: its home and temporary folder are
        its private /tmp (the runner's are not there)."""
        return env | {"HOME": PRIVATE_TMP, "TMPDIR": PRIVATE_TMP}

    def shows(self, path: Path, workspace: Path) -> bool:
        """Whether `path` (resolved: the top-level links are not followed) is there
        inside the sandbox."""
        return path.is_absolute() and any(
            path.is_relative_to(root) for root in (*self.read_only, workspace)
        )

    def check(self) -> None:
        """Run `true` in it once, so a machine where it cannot work says so at start."""
        with tempfile.TemporaryDirectory(prefix="execflow-sandbox-") as folder:
            read, write = os.pipe()
            try:
                args = self.command(["true"], Path(folder), Path(folder), False, write)
                done = subprocess.run(
                    args, check=False, capture_output=True, text=True, pass_fds=(write,), timeout=30
                )
            finally:
                os.close(read)
                os.close(write)
        if done.returncode != 0:
            raise SandboxUnavailable(
                f"bubblewrap cannot run a step here ({done.stderr.strip()}); set"
                " EXECFLOW_SANDBOX=off to run process steps without a sandbox"
            )


def reap_orphans(work_dir: Path) -> list[int]:
    """Kill the sandboxes of `work_dir` that outlived the runner that started them.

    bwrap's `--die-with-parent` is set in the sandbox's init just after bwrap starts it:
    a runner killed in that instant leaves the init, and the step under it, running
    (bubblewrap#633). Such a sandbox is a bwrap process binding a folder of `work_dir`
    whose parent is neither a bwrap nor a runner; killing it (the namespace's init, or
    the bwrap above one) ends every process of the step. Returns the pids killed."""
    root = work_dir.resolve()
    killed = []
    for pid, ppid, comm, args in _processes():
        if comm != "bwrap" or not _binds_under(args, root):
            continue
        parent = _process(ppid)
        if parent is not None and (parent[1] == "bwrap" or _is_runner(parent[2])):
            continue
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except ProcessLookupError:
            pass
    return killed


def _binds_under(args: Sequence[str], root: Path) -> bool:
    return any(
        flag == "--bind" and Path(path).is_relative_to(root) for flag, path in pairwise(args)
    )


def _is_runner(args: Sequence[str]) -> bool:
    return any("execflow_runner" in a or "execflow-runner" in a for a in args[:3])


def _processes() -> list[tuple[int, int, str, list[str]]]:
    """(pid, parent pid, name, arguments) of every process this user can read."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (process := _process(int(entry))) is not None:
            found.append((int(entry), *process))
    return found


def _process(pid: int) -> tuple[int, str, list[str]] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # gone, or not ours to read
        return None
    # `pid (comm) state ppid ...`: comm may hold spaces and parentheses.
    comm = stat[stat.index("(") + 1 : stat.rindex(")")]
    ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
    return ppid, comm, [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def find_bwrap() -> str:
    found = shutil.which("bwrap")
    if found is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed: process steps run sandboxed by default."
            " Install it (Debian: apt-get install bubblewrap), or set EXECFLOW_SANDBOX=off"
            " to run them without a sandbox"
        )
    return found


def python_folders() -> list[Path]:
    """The runner's own Python (its installation, environment and import path), so that
    steps can run `python3` with execflow's step helper as they could without a sandbox."""
    found = [Path(sys.prefix), Path(sys.base_prefix)]
    # Not the folder the runner was started in (`python -m` puts it first): that may
    # be anyone's home.
    started_in = Path.cwd().resolve()
    found += [Path(p) for p in sys.path if p and Path(p).resolve() != started_in]
    return [p.resolve() for p in found if p.is_dir()]


def _outermost(paths: list[Path]) -> list[Path]:
    """The paths that exist, without those inside another one."""
    existing = sorted({p.resolve() for p in paths if p.exists()})
    kept: list[Path] = []
    for path in existing:
        if not any(path.is_relative_to(k) for k in kept):
            kept.append(path)
    return kept
