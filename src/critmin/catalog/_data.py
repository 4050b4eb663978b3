"""Access to the embedded, built data files in ``critmin/catalog/data/``."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

from critmin.errors import InputError


def data_dir() -> Path:
    """The directory holding the built files (written by ``scripts/build_data.py``)."""
    return Path(str(resources.files("critmin.catalog") / "data"))


@lru_cache(maxsize=32)
def read_table(name: str) -> pd.DataFrame:
    """A built table by file name (cached; callers must not mutate it, copy first)."""
    path = data_dir() / name
    if not path.exists():
        raise InputError(
            f"embedded data file {name!r} is missing; expected {path}. Rebuild with `make data`."
        )
    if name.endswith(".parquet"):
        return pd.read_parquet(path)
    return pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"hs_codes": str})
