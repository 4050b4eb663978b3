"""Shared pieces of the sweep tests: the small study and a runner of the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SMALL = Path(__file__).resolve().parents[2] / "examples" / "studies" / "ndpr_ban_small.yaml"


@pytest.fixture
def small_study() -> Path:
    return SMALL


def critmin(
    *args: str, env: dict[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """``critmin ARGS`` in a fresh process (what a user runs)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", "from critmin.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        check=False,
    )
