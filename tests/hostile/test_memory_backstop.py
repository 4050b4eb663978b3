"""The OS backstop behind the estimated memory limit (issue 13, ``bounds.memory_backstop``).

``critmin run``, ``sweep`` and ``stockpile policy`` refuse an input whose *estimate* is over
``--memory-limit-gib`` before allocating it. An allocation the estimates miss used to grow
until the machine swapped or the kernel killed the process; now the command's data segment is
limited (``RLIMIT_DATA``) to its limit x 1.5 + 2 GiB above what it held at the start, and the
failed allocation is one line, exit 2.

The over-allocation is staged in a subprocess: ``critmin.facade.load`` (the first step of
``critmin run`` under the backstop) is replaced by a function asking numpy for 6 GiB
uninitialised (``np.empty``: without a limit the kernel grants it lazily, nothing touched).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from critmin.bounds import backstop_bytes, memory_backstop
from tests.hostile.harness import REPO

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_DATA: Linux")

_STAGED = textwrap.dedent(
    """
    import sys
    import numpy as np
    import critmin.facade
    from critmin.errors import InputError

    def load(*_a, **_k):
        block = np.empty(6 * 2**30, dtype=np.uint8)  # 6 GiB asked for, none of it touched
        raise InputError(f"allocated {block.nbytes / 2**30:g} GiB")

    critmin.facade.load = load
    from critmin.cli import main
    sys.argv = ["critmin", *sys.argv[1:]]
    main()
    """
)


def _critmin(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    env.pop("CRITMIN_MEMORY_LIMIT_GIB", None)
    return subprocess.run(
        [sys.executable, "-c", _STAGED, "run", "--out", str(tmp_path / "out"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_an_allocation_past_the_backstop_is_one_line_exit_2(tmp_path: Path) -> None:
    """--memory-limit-gib 0.25: the backstop is ~0.2 GiB held + 0.375 + 2 GiB, under 3 GiB;
    6 GiB fails at once (no swapping, no OOM kill) with the message naming the limit."""
    p = _critmin(tmp_path, "--memory-limit-gib", "0.25")
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2, p.stderr
    assert lines == [
        "critmin: error: ran out of memory (limit 0.25 GiB); raise it with --memory-limit-gib "
        "or CRITMIN_MEMORY_LIMIT_GIB (0: no limit), or make the input smaller"
    ], p.stderr
    assert not (tmp_path / "out").exists()


def test_without_a_limit_the_same_allocation_is_granted(tmp_path: Path) -> None:
    """The control: with --memory-limit-gib 0 the kernel grants the 6 GiB (lazily), so the
    refusal above is the backstop's doing, not the machine's."""
    p = _critmin(tmp_path, "--memory-limit-gib", "0")
    assert p.returncode == 2, p.stderr
    assert p.stderr.strip() == "critmin: error: allocated 6 GiB", p.stderr


def test_the_backstop_is_put_back_and_never_loosens_a_tighter_limit() -> None:
    """In-process (the test suite runs commands so): the soft limit is restored after the
    block; a limit already tighter than the backstop is kept as it is."""
    kind = resource.RLIMIT_DATA
    before = resource.getrlimit(kind)
    with memory_backstop(1.0) as set_to:
        assert set_to is not None
        assert resource.getrlimit(kind)[0] == set_to
        assert set_to >= backstop_bytes(1.0) - 2**26  # (VmData moves a little meanwhile)
    assert resource.getrlimit(kind) == before
    with memory_backstop(0) as none:
        assert none is None
        assert resource.getrlimit(kind) == before
    tight = backstop_bytes(0.5)  # what the process holds + 2.75 GiB: tighter than 4 GiB's
    if before[1] != resource.RLIM_INFINITY:
        tight = min(tight, before[1])
    resource.setrlimit(kind, (tight, before[1]))
    try:
        with memory_backstop(4.0) as kept:
            assert kept is None
            assert resource.getrlimit(kind)[0] == tight
    finally:
        resource.setrlimit(kind, before)


def test_a_normal_run_stays_far_below_its_backstop(tmp_path: Path) -> None:
    """``critmin run`` of two_regions.yaml under the default 4 GiB limit: the peak data
    segment (sampled at exit; VmData does not shrink much) is well under the backstop."""
    script = textwrap.dedent(
        """
        import resource, sys
        from critmin.cli import main
        sys.argv = ["critmin", "run", sys.argv[1], "--out", sys.argv[2], "--json"]
        try:
            main()
        except SystemExit as e:
            assert e.code == 0, e.code
        data = [l for l in open("/proc/self/status") if l.startswith(("VmData", "VmPeak"))]
        print(" ".join(l.split()[1] for l in data))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    env.pop("CRITMIN_MEMORY_LIMIT_GIB", None)
    scenario = REPO / "examples" / "scenarios" / "two_regions.yaml"
    p = subprocess.run(
        [sys.executable, "-c", script, str(scenario), str(tmp_path / "o")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    peak_kib, data_kib = map(int, p.stdout.split()[-2:])
    backstop_gib = 1.5 * 4 + 2  # at least, before what the process held at the start
    assert data_kib * 1024 < backstop_gib * 2**30 / 3, (data_kib, peak_kib)
