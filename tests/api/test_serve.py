"""``critmin serve`` as a user runs it: a real process, a real port, a SQLite file."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

DB = "critmin-registry.sqlite3"
CRITMIN = [sys.executable, "-m", "critmin.cli.__main__"]


def critmin_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("critmin")
    return [str(exe)] if exe.exists() else CRITMIN


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(cwd: Path, *args: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    proc = subprocess.Popen(
        [*critmin_cmd(), "serve", "--port", str(port), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                return proc, port
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("serve did not answer within 60 s")


def verify_audit(folder: Path) -> Any:
    """``critmin serve verify-audit`` in-process (the same typer app; saves a start-up)."""
    from typer.testing import CliRunner

    from critmin.cli import _register, app

    _register()
    res = CliRunner().invoke(app, ["serve", "verify-audit", "--db", f"sqlite:///{folder / DB}"])
    res.returncode = res.exit_code
    return res


def stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    out, _ = proc.communicate(timeout=30)
    return out


def test_serve_demo_then_verify_audit_finds_tampering(tmp_path: Path) -> None:
    proc, port = start(tmp_path, "--demo")
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        m = re.search(r"operator token: (cm_\S+)", first)
        assert m, first
        me = httpx.get(
            f"http://127.0.0.1:{port}/v1/me", headers={"Authorization": f"Bearer {m.group(1)}"}
        )
        assert me.status_code == 200
        assert me.json()["roles"] == ["operator"]
        assert httpx.get(f"http://127.0.0.1:{port}/v1/me").status_code == 401
    finally:
        stop(proc)
    db = tmp_path / "critmin-registry.sqlite3"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0005"
        # tokens are stored only as hashes
        hashes = [r[0] for r in conn.execute("SELECT token_sha256 FROM tokens")]
        assert m.group(1) not in hashes
        assert all(len(h) == 64 for h in hashes)
    # a second start migrates nothing and keeps the data; seeding twice is refused (exit 2)
    again = subprocess.run(
        [*critmin_cmd(), "serve", "--demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1
    assert "already seeded" in again.stderr
    # the audit trail verifies; an edited or a deleted row is found
    ok = verify_audit(tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.strip().endswith(": ok")
    with sqlite3.connect(tmp_path / "critmin-registry.sqlite3") as conn:
        conn.execute("UPDATE audit_log SET actor = 'someone else' WHERE seq = 5")
    bad = verify_audit(tmp_path)
    assert bad.returncode == 1
    assert "audit row 5: content does not match its sha256" in bad.stdout
    with sqlite3.connect(tmp_path / "critmin-registry.sqlite3") as conn:
        conn.execute("DELETE FROM audit_log WHERE seq = 7")
    gone = verify_audit(tmp_path)
    assert "audit row 8: expected seq 7" in gone.stdout


def test_bad_db_url_is_one_line_exit_2(tmp_path: Path) -> None:
    res = subprocess.run(
        [*critmin_cmd(), "serve", "--db", "mysql://x/y"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 2
    assert res.stderr.startswith("critmin: error: --db:")
    assert res.stderr.count("\n") == 1


@pytest.mark.parametrize("flag", ["--help"])
def test_serve_help_lists_options(flag: str) -> None:
    res = subprocess.run(
        [*critmin_cmd(), "serve", flag], capture_output=True, text=True, check=False
    )
    assert res.returncode == 0
    for opt in ("--host", "--port", "--db", "--demo", "verify-audit"):
        assert opt in res.stdout


@pytest.mark.slow
def test_serve_with_two_workers_shares_one_database(tmp_path: Path) -> None:
    """``--workers 2``: two processes on one SQLite file; writes from either are seen by both
    and the audit chain stays whole."""
    proc, port = start(tmp_path, "--demo", "--workers", "2")
    try:
        assert proc.stdout is not None
        token = proc.stdout.readline().rsplit(" ", 1)[1].strip()
        h = {"Authorization": f"Bearer {token}"}
        base = f"http://127.0.0.1:{port}"
        for i in range(20):
            r = httpx.post(
                f"{base}/v1/members",
                json={"id": f"co{i}", "name": f"Company {i}", "kind": "company"},
                headers=h,
            )
            assert r.status_code == 201, r.text
        ids = {
            m["id"] for m in httpx.get(f"{base}/v1/members?limit=500", headers=h).json()["items"]
        }
        assert {f"co{i}" for i in range(20)} <= ids
        assert httpx.get(f"{base}/v1/audit/verify", headers=h).json()["ok"] is True
    finally:
        stop(proc)
