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


@pytest.mark.parametrize("kill_at", range(1, RENAMES + 2))
def test_a_reader_after_a_kill_part_way_finds_one_whole_set(tmp_path: Path, kill_at: int) -> None:
    """Killed at each rename of the commit, with no writer after it: the journal is the
    marker a critmin reader trusts (:func:`critmin.fileio.settle_output_folder`), so the
    reader puts the old set back first, or finds the new one whole."""
    out = tmp_path / "out"
    _old_set(out)
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    subprocess.run([sys.executable, "-c", _CHILD, str(out), str(kill_at)], env=env, check=False)
    killed = kill_at <= RENAMES
    assert fileio.settle_output_folder(out) == (1 < kill_at <= RENAMES)
    visible = {n: t for n, t in _state(out).items() if not n.startswith(".")}
    assert visible == ({**OLD, "mine.txt": "kept"} if killed else NEW)
    hidden = [p.name for p in out.iterdir() if p.name.startswith(".")]
    if kill_at == 1:
        # killed writing the journal: no commit had begun, the set is whole and the reader
        # has nothing to settle; the journal's temp file goes with the next writer's cleanup
        assert [h for h in hidden if not h.endswith(".journal.tmp")] == []
    else:
        assert hidden == []  # no journal, no backup, no temp file of the dead run
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nor beside it


_RUN_CHILD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    import pandas as pd
    from critmin import fileio
    out, frame = Path(sys.argv[1]), pd.read_parquet(sys.argv[2])
    fileio._exchange = lambda a, b: False
    real = os.replace
    def replace(src, dst):
        real(src, dst)
        if Path(str(dst)) == out / "series.parquet":
            os._exit(9)  # the new series is in, the old summary still there
    fileio.os.replace = replace
    with fileio.OutputSet(out, names=("series.parquet", "summary.json")) as o:
        frame.assign(value=frame["value"] * 2).to_parquet(o.path("series.parquet"))
        o.path("summary.json").write_text('{"new": true}')
    """
)


def test_read_series_never_reads_the_new_series_beside_the_old_summary(tmp_path: Path) -> None:
    """The public reader of a run's output (:func:`critmin.read_series`): a run killed just
    after its ``series.parquet`` was renamed in, before its ``summary.json``, leaves a mixed
    folder; ``read_series`` puts the previous run's set back and returns its series."""
    import pandas as pd

    import critmin

    out = tmp_path / "out"
    out.mkdir()
    old = pd.DataFrame(
        {
            "scenario": ["s"],
            "chain": ["ndpr"],
            "product": ["ndpr_oxide"],
            "variable": ["price_usd_per_t"],
            "region": ["CHN"],
            "month": ["2026-01"],
            "value": [1.5],
        }
    )
    old.to_parquet(out / "series.parquet")
    (out / "summary.json").write_text('{"new": false}')
    frame_file = tmp_path / "frame.parquet"
    old.to_parquet(frame_file)
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    proc = subprocess.run(
        [sys.executable, "-c", _RUN_CHILD, str(out), str(frame_file)], env=env, check=False
    )
    assert proc.returncode == 9
    assert (out / fileio.COMMIT_JOURNAL).exists()
    assert pd.read_parquet(out / "series.parquet")["value"].tolist() == [3.0]  # the mix
    series = critmin.read_series(out / "series.parquet")
    assert series["value"].tolist() == [1.5]
    assert (out / "summary.json").read_text() == '{"new": false}'
    assert not (out / fileio.COMMIT_JOURNAL).exists()


def test_a_reader_waits_for_a_live_commit_and_then_refuses_clearly(tmp_path: Path) -> None:
    """A journal while another critmin holds the folder's lock is a commit in progress: the
    reader waits for it (up to ``wait_s``) and then says the folder is busy, one line."""
    out = tmp_path / "out"
    _old_set(out)
    (out / fileio.COMMIT_JOURNAL).write_text("{}")
    with fileio.OutputSet(out, names=NAMES):  # holds the lock (and settles the journal)
        (out / fileio.COMMIT_JOURNAL).write_text("{}")  # as a commit in progress would
        with pytest.raises(fileio.OutputBusyError, match="another critmin process"):
            fileio.settle_output_folder(out, wait_s=0.2)
    assert fileio.settle_output_folder(out) is False  # a cut-short journal: removed
    assert not (out / fileio.COMMIT_JOURNAL).exists()
