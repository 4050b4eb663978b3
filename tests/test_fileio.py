"""Atomic writes: complete file or nothing, existing file kept on failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from critmin.fileio import atomic_write, atomic_write_text


def test_text_written_and_no_temp_left(tmp_path: Path) -> None:
    target = atomic_write_text(tmp_path / "sub" / "a.txt", "x\r\ny\n")
    assert target.read_bytes() == b"x\r\ny\n"  # newlines as given, not translated
    assert [p.name for p in target.parent.iterdir()] == ["a.txt"]


def test_failure_keeps_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old")

    def boom(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, boom)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_permissions_follow_umask_not_mkstemp(tmp_path: Path) -> None:
    import os

    old = os.umask(0o022)
    try:
        target = atomic_write_text(tmp_path / "r.html", "<html/>")
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o644


# ---------------------------------------------------------------- reading


def test_read_text_errors_are_one_line_naming_the_file(tmp_path: Path) -> None:
    from critmin.errors import InputError
    from critmin.fileio import read_text

    (tmp_path / "d").mkdir()
    (tmp_path / "l1.txt").write_bytes(b"ok\nd\xe9j\xe0\n")
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfname: x\n")
    cases = {
        "missing.txt": r"missing\.txt: cannot read thing: no such file$",
        "d": r"d: cannot read thing: is a directory, expected a file$",
        "l1.txt": r"l1\.txt:2: cannot read thing: not UTF-8 text \(byte 0xe9 at line 2\)",
    }
    for name, pattern in cases.items():
        with pytest.raises(InputError, match=pattern):
            read_text(tmp_path / name, "thing")
    assert read_text(tmp_path / "bom.txt") == "name: x\n"  # a byte-order mark is dropped
    with pytest.raises(InputError, match=r"larger than 0 MiB"):
        read_text(tmp_path / "bom.txt", max_bytes=3)


# ---------------------------------------------------------------- output sets


def _entries(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_output_set_appears_whole_and_keeps_other_files(tmp_path: Path) -> None:
    from critmin.fileio import OutputSet

    out = tmp_path / "out"
    with OutputSet(out, names=("a.txt", "b.txt")) as o:
        o.path("a.txt").write_text("1")
        o.path("b.txt").write_text("1")
        assert not out.exists()  # nothing visible before the set is complete
    assert _entries(out) == {"a.txt", "b.txt"}
    (out / "other.json").write_text("kept")
    (out / "nested").mkdir()
    (out / "nested" / "f").write_text("kept too")
    with OutputSet(out, names=("a.txt", "b.txt")) as o:
        o.path("a.txt").write_text("2")
        o.path("b.txt").write_text("2")
        assert (out / "a.txt").read_text() == "1"
    assert (out / "a.txt").read_text() == (out / "b.txt").read_text() == "2"
    assert (out / "other.json").read_text() == "kept"
    assert (out / "nested" / "f").read_text() == "kept too"
    assert _entries(tmp_path) == {"out"}  # no staging folder, no lock file left


def test_output_set_failure_leaves_the_old_set(tmp_path: Path) -> None:
    from critmin.fileio import OutputSet

    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("old")

    def run() -> None:
        with OutputSet(out, names=("a.txt",)) as o:
            o.path("a.txt").write_text("new")
            raise RuntimeError("solver failed")

    with pytest.raises(RuntimeError):
        run()
    assert (out / "a.txt").read_text() == "old"
    assert _entries(tmp_path) == {"out"}


def test_output_set_without_the_atomic_swap_still_renames_whole_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The weaker path (no renameat2): files renamed one by one; a set file not rewritten
    this time is removed rather than left from the old run."""
    from critmin import fileio

    monkeypatch.setattr(fileio, "_exchange", lambda _a, _b: False)
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("old")
    (out / "b.txt").write_text("old")
    (out / "mine.txt").write_text("kept")
    with fileio.OutputSet(out, names=("a.txt", "b.txt")) as o:
        o.path("a.txt").write_text("new")
    assert _entries(out) == {"a.txt", "mine.txt"}
    assert (out / "a.txt").read_text() == "new"


def test_a_second_writer_is_refused_and_stale_temps_are_removed(tmp_path: Path) -> None:
    from critmin.fileio import OutputBusyError, OutputSet, atomic_write_text

    out = tmp_path / "out"
    dead = 2**22 + 12345  # above Linux's default pid_max: no such process
    (tmp_path / f".out.{dead}.abcd1234.tmp").mkdir()  # a killed run's staging folder
    out.mkdir()
    (out / f".a.txt.{dead}.abcd1234.tmp").write_text("half")  # a killed atomic write
    with OutputSet(out, names=("a.txt",)) as o:
        with pytest.raises(OutputBusyError, match=r"another critmin process \(pid \d+\)"):
            OutputSet(out).__enter__()
        o.path("a.txt").write_text("x")
    assert _entries(tmp_path) == {"out"}
    assert _entries(out) == {"a.txt"}
    (out / f".b.txt.{dead}.abcd1234.tmp").write_text("half")
    atomic_write_text(out / "b.txt", "y")
    assert _entries(out) == {"a.txt", "b.txt"}


def test_safe_cell_follows_owasp() -> None:
    from critmin.fileio import safe_cell

    for bad in ("=1+1", "+1", "-1+A1", "@SUM(A1)", "\t=x", "\r=x"):
        assert safe_cell(bad) == "'" + bad
    for ok in ("ndpr", "", "1-2", -5, 3.5, None):
        assert safe_cell(ok) == ok


def test_output_set_in_a_folder_whose_parent_is_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shared mount: the folder is writable, its parent is not. The lock and the staging
    folder go inside the folder and the files are renamed in one by one."""
    import errno
    import os

    from critmin import fileio

    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("old")
    real_open = os.open

    def no_parent(path: str | Path, flags: int, mode: int = 0o777, **kw: int) -> int:
        if Path(path).parent == tmp_path:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, mode, **kw)

    real_mkdtemp = fileio.tempfile.mkdtemp

    def mkdtemp(**kw: str) -> str:
        assert Path(kw["dir"]) == out  # staged inside the folder, not beside it
        return real_mkdtemp(**kw)

    monkeypatch.setattr(fileio.os, "open", no_parent)
    monkeypatch.setattr(fileio.tempfile, "mkdtemp", mkdtemp)
    with fileio.OutputSet(out, names=("a.txt", "b.txt")) as o:
        assert (out / ".critmin.lock").exists()
        o.path("a.txt").write_text("new")
        o.path("b.txt").write_text("new")
    assert _entries(out) == {"a.txt", "b.txt"}
    assert (out / "a.txt").read_text() == "new"
    assert _entries(tmp_path) == {"out"}


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["run", "two_regions", "--out", "."], "'.' is the working folder"),
        (["run", "two_regions", "--out", ".."], "'..' contains the working folder"),
        (["risk", "lithium", "--out", ""], "'.' is the working folder"),
        (
            [
                "stockpile",
                "simulate",
                "examples/stockpile/dla_nds_2025.yaml",
                "--signals",
                "examples/stockpile/signals_ban_2027.csv",
                "--out",
                "..",
            ],
            "'..' contains the working folder",
        ),
    ],
    ids=["run-dot", "run-parent", "risk-empty", "stockpile-parent"],
)
def test_an_output_folder_that_cannot_be_swapped_is_refused(
    argv: list[str], reason: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--out .`` (or a folder above the working folder) cannot be swapped for the staging
    folder; renaming the files in one by one there let a kill leave an old/new mix (issue
    13's weaker case). It is refused with one line asking for a subfolder, before anything
    is written: the folders hold exactly what they held."""
    from tests.hostile.harness import REPO, run_in_process

    work = tmp_path / "work"
    work.mkdir()
    (work / "examples").symlink_to(REPO / "examples")
    (work / "summary.json").write_text("old")
    monkeypatch.chdir(work)
    code, _out, err = run_in_process(argv)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith(f"critmin: error: --out: {reason}; "), lines[0]
    assert lines[0].endswith("give a subfolder, e.g. --out out"), lines[0]
    assert _entries(work) == {"examples", "summary.json"}
    assert (work / "summary.json").read_text() == "old"
    assert _entries(tmp_path) == {"work"}
