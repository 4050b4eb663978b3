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
