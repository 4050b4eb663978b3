"""Files a user cannot read and folders a user cannot write, as an unprivileged user sees them.

This machine (and CI) runs the tests as root, for whom mode 000 means nothing: root reads
and writes anyway, so a test of "permission denied" run as root passes without exercising
anything. Here ``critmin`` itself runs as the user ``nobody`` (``setpriv``, util-linux),
on files in a world-readable scratch folder, so the kernel refuses the access as it would
for any user. When the tests do not run as root, the same commands run as the current user.
Each must be one line on stderr naming the path, exit 2, nothing written.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.harness import REPO

EX = REPO / "examples"
BOM = EX / "bom" / "ev_traction_motor.yaml"
TWO = EX / "scenarios" / "two_regions.yaml"
CRITMIN = Path(sys.executable).with_name("critmin")
NOBODY = 65534


def _as_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    drop = ["--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups"]
    return [shutil.which("setpriv") or "setpriv", *drop, *argv]


def _critmin(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRITMIN_")}
    env["HOME"] = str(cwd)  # nobody's home does not exist; nothing should be written there
    return subprocess.run(
        _as_user([str(CRITMIN), *map(str, args)]),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    """A folder the unprivileged user can enter (pytest's own tmp_path is root's, mode 700)."""
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv (util-linux) to drop to nobody")
    d = Path(tempfile.mkdtemp(prefix="critmin-unprivileged-"))
    d.chmod(0o755)
    probe = _critmin("--version", cwd=d)
    if probe.returncode != 0:
        shutil.rmtree(d)
        pytest.skip(f"critmin cannot run as nobody here (venv not readable?): {probe.stderr}")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _one_line(res: subprocess.CompletedProcess[str], pattern: str) -> str:
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2, f"exit {res.returncode}: {res.stderr}"
    assert len(lines) == 1, res.stderr
    assert re.search(pattern, lines[0]), lines[0]
    return lines[0]


def test_a_file_the_user_cannot_read(scratch: Path) -> None:
    locked = scratch / "locked.yaml"
    shutil.copy(BOM, locked)
    locked.chmod(0)
    _one_line(
        _critmin("exposure", locked, cwd=scratch),
        r"locked\.yaml.* (is not readable|permission denied)",
    )
    scenario = scratch / "locked_scenario.yaml"
    shutil.copy(TWO, scenario)
    scenario.chmod(0)
    _one_line(
        _critmin("validate", scenario, cwd=scratch),
        r"locked_scenario\.yaml.*(is not readable|permission denied)",
    )


def test_an_output_folder_the_user_cannot_write(scratch: Path) -> None:
    parent = scratch / "readonly"
    parent.mkdir()
    parent.chmod(0o555)
    res = _critmin("run", TWO, "--out", parent / "out", cwd=scratch)
    _one_line(res, r"readonly.*(permission denied|not writable|cannot (create|write))")
    assert list(parent.iterdir()) == []
    # an existing output folder the user cannot write into: refused, left as it was
    existing = scratch / "existing"
    existing.mkdir()
    (existing / "summary.json").write_text("{}")
    existing.chmod(0o555)
    res = _critmin("run", TWO, "--out", existing, cwd=scratch)
    _one_line(res, r"existing.*(permission denied|not writable|cannot (create|write))")
    assert sorted(p.name for p in existing.iterdir()) == ["summary.json"]
    assert (existing / "summary.json").read_text() == "{}"
