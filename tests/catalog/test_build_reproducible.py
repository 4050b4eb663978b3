"""Rebuilding from data/raw + data/curated reproduces the committed embedded files."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

from critmin.catalog._data import data_dir

ROOT = Path(__file__).resolve().parents[2]


def _load_build_script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("build_data", ROOT / "scripts/build_data.py")
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_rebuild_reproduces_committed_files(tmp_path: Path) -> None:
    build = _load_build_script()
    build.build(tmp_path)
    committed = data_dir()
    names = sorted(p.name for p in committed.iterdir() if p.is_file())
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    for name in names:
        if name.endswith(".csv"):
            assert (tmp_path / name).read_bytes() == (committed / name).read_bytes(), name
        elif name.endswith(".parquet"):
            pd.testing.assert_frame_equal(
                pd.read_parquet(tmp_path / name), pd.read_parquet(committed / name)
            )
        else:
            assert json.loads((tmp_path / name).read_text()) == json.loads(
                (committed / name).read_text()
            )


def test_manifest_hashes_match_raw_inputs() -> None:
    """Fast check: the committed build was made from exactly the raw files in the repo."""
    import hashlib

    manifest = json.loads((data_dir() / "manifest.json").read_text())
    for rel, digest in manifest["inputs"].items():
        path = ROOT / rel
        assert path.exists(), rel
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, rel
