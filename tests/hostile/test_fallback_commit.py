"""The output set where the folder cannot be swapped whole: all or nothing (issue 13).

Where ``renameat2(RENAME_EXCHANGE)`` cannot swap the output folder (not Linux, a mount point,
a folder of over 10,000 entries, a parent that is not writable) the files of a set are
renamed in one by one under a journal (:func:`critmin.fileio._journaled_replace`). These
tests fail such a commit part-way - by an error, and by ``os._exit`` in a child process (a
kill) at every rename - and check that the previous set is what the folder holds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from critmin import fileio
from tests.hostile.harness import REPO, run_in_process
from tests.hostile.test_hostile_files import refused

OLD = {"a.txt": "old a", "b.txt": "old b", "c.txt": "old c"}
NAMES = ("a.txt", "b.txt", "c.txt", "d.txt")


def _old_set(out: Path) -> None:
    out.mkdir()
    for n, text in OLD.items():
        (out / n).write_text(text)
    (out / "mine.txt").write_text("kept")  # a file of another command


def _state(out: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in out.iterdir() if p.is_file()}


def _write_new(o: fileio.OutputSet) -> None:
    # a, b, d new; c not rewritten this time (an old set file is removed by a commit)
    for n in ("a.txt", "b.txt", "d.txt"):
        o.path(n).write_text(f"new {n[0]}")


NEW = {"a.txt": "new a", "b.txt": "new b", "d.txt": "new d", "mine.txt": "kept"}


def test_a_weaker_commit_replaces_the_set_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fileio, "_exchange", lambda _a, _b: False)
    out = tmp_path / "out"
    _old_set(out)
    with fileio.OutputSet(out, names=NAMES) as o:
        _write_new(o)
    assert _state(out) == NEW
    assert sorted(p.name for p in out.iterdir()) == sorted(NEW)  # no journal, no backup
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


#: renames of the commit below: the journal, 3 old files to the backup, 3 new files in
RENAMES = 7


@pytest.mark.parametrize("fail_at", range(1, RENAMES + 1))
def test_an_error_part_way_through_a_weaker_commit_keeps_the_old_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: int
) -> None:
    """An OSError at each rename of the commit: the old set is put back at once."""
    monkeypatch.setattr(fileio, "_exchange", lambda _a, _b: False)
    out = tmp_path / "out"
    _old_set(out)
    real = os.replace
    calls = [0]

    def flaky(src: object, dst: object) -> None:
        if Path(str(dst)).parent == out or Path(str(src)).parent == out:
            calls[0] += 1
            if calls[0] == fail_at:
                raise OSError(5, "Input/output error", str(dst))
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(fileio.os, "replace", flaky)
    with pytest.raises(OSError, match="Input/output"), fileio.OutputSet(out, names=NAMES) as o:
        _write_new(o)
    monkeypatch.setattr(fileio.os, "replace", real)
    assert _state(out) == {**OLD, "mine.txt": "kept"}
    assert sorted(p.name for p in out.iterdir()) == sorted([*OLD, "mine.txt"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


_CHILD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from critmin import fileio
    out, kill_at = Path(sys.argv[1]), int(sys.argv[2])
    fileio._exchange = lambda a, b: False
    real, calls = os.replace, [0]
    def replace(src, dst):
        if Path(str(dst)).parent == out or Path(str(src)).parent == out:
            calls[0] += 1
            if calls[0] == kill_at:
                os._exit(9)  # as SIGKILL: no finally, no rollback
        real(src, dst)
    fileio.os.replace = replace
    with fileio.OutputSet(out, names=("a.txt", "b.txt", "c.txt", "d.txt")) as o:
        for n in ("a.txt", "b.txt", "d.txt"):
            o.path(n).write_text(f"new {n[0]}")
    """
)


@pytest.mark.parametrize("kill_at", range(1, RENAMES + 2))
def test_a_kill_part_way_through_a_weaker_commit_is_undone_by_the_next_writer(
    tmp_path: Path, kill_at: int
) -> None:
    """Killed at each rename of the commit (1: writing the journal; 8: none, the commit
    ends): the next OutputSet of the folder puts the old set back before it starts, or
    finds the new one whole."""
    out = tmp_path / "out"
    _old_set(out)
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(out), str(kill_at)], env=env, check=False
    )
    killed = kill_at <= RENAMES
    assert proc.returncode == (9 if killed else 0)
    assert (out / fileio.COMMIT_JOURNAL).exists() == (1 < kill_at <= RENAMES)
    with fileio.OutputSet(out, names=NAMES):  # the next writer: what it finds on entering
        state = _state(out)
    assert state == ({**OLD, "mine.txt": "kept"} if killed else NEW)
    assert not (out / fileio.COMMIT_JOURNAL).exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_a_run_into_a_folder_of_10001_entries_fails_at_commit_and_keeps_the_old_set(
    tmp_path: Path,
) -> None:
    """Through the CLI: a folder of over 10,000 entries is not mirrored and swapped, so its
    set is committed file by file; ``summary.json`` is a folder there, so the commit fails
    after the run, before any file is replaced. Before: ``series.parquet`` was replaced and
    then the commit stopped (a mixed set)."""
    out = tmp_path / "out"
    out.mkdir()
    for i in range(10_001):
        (out / f"f{i}").touch()
    (out / "series.parquet").write_bytes(b"old series")
    (out / "report.html").write_text("old report")
    (out / "summary.json").mkdir()
    scenario = REPO / "examples" / "scenarios" / "two_regions.yaml"
    refused(["run", scenario, "--out", out], r"cannot write summary\.json: it is a folder")
    assert (out / "series.parquet").read_bytes() == b"old series"
    assert (out / "report.html").read_text() == "old report"
    assert len(list(out.iterdir())) == 10_004
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_the_same_run_with_the_folder_fixed_replaces_the_set(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for i in range(10_001):
        (out / f"f{i}").touch()
    (out / "series.parquet").write_bytes(b"old series")
    scenario = REPO / "examples" / "scenarios" / "two_regions.yaml"
    code, _out, err = run_in_process(["run", str(scenario), "--out", str(out), "--json"])
    assert code == 0, err
    assert (out / "series.parquet").read_bytes()[:4] == b"PAR1"
    assert {"summary.json", "report.html"} <= {p.name for p in out.iterdir()}
    assert not (out / fileio.COMMIT_JOURNAL).exists()


def test_a_sweep_whose_report_fails_keeps_the_previous_table_summary_and_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``critmin sweep`` writes samples.parquet, summary.json and report.html as one output
    set. Before, each was renamed into the folder as it was written: a report that failed
    left a new table and summary beside the previous report."""
    from critmin.scenarios.sweep import report

    out = tmp_path / "sweep"
    out.mkdir()
    for n in ("samples.parquet", "summary.json", "report.html"):
        (out / n).write_text(f"previous {n}")

    def broken(*_args: object) -> Path:
        raise OSError(28, "No space left on device", str(out / "report.html"))

    monkeypatch.setattr(report, "write_report", broken)
    study = REPO / "examples" / "studies" / "ndpr_ban_small.yaml"
    code, _out, err = run_in_process(
        ["sweep", str(study), "--samples", "1", "--workers", "1", "--out", str(out), "--json"]
    )
    assert code == 2, err
    assert "No space left on device" in err
    for n in ("samples.parquet", "summary.json", "report.html"):
        assert (out / n).read_text() == f"previous {n}"
    assert (out / "batches").is_dir()  # what --resume reads stays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep"]
