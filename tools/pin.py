"""`make pin`: resolve every dependency afresh and write the versions found into the
root pyproject.toml as `[tool.uv] constraint-dependencies`, so that a fresh clone
installs exactly what was tested. Pins are `name==version` lines: unlike a lock file,
they name no package index. Run it to take new upstream releases, then run the tests."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
START, END = "# pins: begin (make pin)", "# pins: end"
BLOCK = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)


def main() -> None:
    uv = sys.argv[1] if len(sys.argv) > 1 else "uv"
    text = PYPROJECT.read_text()
    # Unpinned first, so that the resolution is free to move.
    PYPROJECT.write_text(BLOCK.sub(f"{START}\nconstraint-dependencies = []\n{END}", text))
    try:
        exported = subprocess.run(
            [
                uv,
                "export",
                "--all-packages",
                "--all-groups",
                "--no-emit-workspace",
                "--no-header",
                "--no-hashes",
                "--no-annotate",
                "--upgrade",
                "--quiet",
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except BaseException:
        PYPROJECT.write_text(text)
        raise
    pins = [line.strip() for line in exported.splitlines() if "==" in line]
    listed = "".join(f'    "{pin}",\n' for pin in pins)
    block = f"{START}\nconstraint-dependencies = [\n{listed}]\n{END}"
    PYPROJECT.write_text(BLOCK.sub(lambda _: block, text))
    print(f"pinned {len(pins)} packages in {PYPROJECT.name}")


if __name__ == "__main__":
    main()
