"""Import costs a user pays on every command: heavy libraries load only where they are used.

Each check runs in a fresh interpreter (``sys.modules`` of the test process already holds
everything). SciPy (~1 s to import) is needed only to value contracts and to trace networks;
``critmin --help``, ``critmin validate`` and ``critmin run`` must not load it, and the CLI
must not load pandas before a command that needs it runs.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import critmin.contracts


def _loaded(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120
    )
    return set(out.stdout.split())


@pytest.mark.parametrize(
    ("statement", "absent"),
    [
        ("import critmin.cli.commands", {"scipy", "pandas"}),
        ("import critmin.scenarios.loader, critmin.scenarios.runner", {"scipy"}),
        ("from critmin.scenarios.plugins import load_instruments; load_instruments()", {"scipy"}),
    ],
)
def test_heavy_libraries_load_on_use_only(statement: str, absent: set[str]) -> None:
    assert not (_loaded(statement) & absent)


def test_contracts_names_resolve_lazily() -> None:
    """Every public name of ``critmin.contracts`` resolves to the object of its module, and
    an unknown name raises AttributeError (``from critmin.contracts import x`` then fails
    with ImportError, as for any module)."""
    from critmin.contracts import settle as settle_fn
    from critmin.contracts.settlement import settle

    assert settle_fn is settle
    for name in critmin.contracts.__all__:
        obj = getattr(critmin.contracts, name)
        assert getattr(obj, "__module__", "").startswith("critmin.contracts.")
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        critmin.contracts.nope  # noqa: B018
