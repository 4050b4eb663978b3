"""The root command: version and the one-line error contract."""

from __future__ import annotations

import subprocess
import sys

from critmin import __version__
from critmin.errors import UnknownNameError, suggest


def test_version_prints_package_version() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "from critmin.cli import main; main()", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0
    assert out.stdout.strip() == f"critmin {__version__}"


def test_suggest_finds_nearest_name_case_insensitively() -> None:
    assert suggest("Lithum", ["lithium", "cobalt", "nickel"]) == ["lithium"]
    assert suggest("zzz", ["lithium", "cobalt"]) == []


def test_unknown_name_message_names_kind_and_suggestion() -> None:
    err = UnknownNameError("mineral", "lithum", ["lithium", "cobalt"])
    assert str(err) == "unknown mineral 'lithum'; did you mean lithium?"
