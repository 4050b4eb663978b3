"""The service computes with critmin's public Python API only (issue 14: "the service computes
with the same code as the CLI, never a copy", through ``import critmin``).

Every import in ``src/critmin/api`` and ``src/critmin/store`` is parsed (``ast``; imports under
``if TYPE_CHECKING:`` count too) and must come from ``critmin`` itself, the service's own
packages, ``critmin.errors`` (the error types a caller catches, docs/api.md) or
``critmin.yamlio`` (the project's YAML reader with line numbers: the demonstration registry
reads the shipped example files with it, as the CLI does; it is file input, not computation)
or ``critmin.bounds`` (the input rules every critmin format shares: request bodies refuse
text and booleans in number fields by the same ``StrictNumbers`` rule as the files).
A name imported from ``critmin`` or read as ``critmin.<name>`` must be one ``critmin`` exports
(``__all__``), so a lazy import inside a function cannot fail only when a request runs it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import critmin

SRC = Path(__file__).resolve().parents[2] / "src" / "critmin"
SERVICE = ("api", "store")
ALLOWED = ("critmin", "critmin.errors", "critmin.yamlio", "critmin.bounds")
OWN = tuple(f"critmin.{p}" for p in SERVICE)


def _allowed(module: str) -> bool:
    return module in ALLOWED or any(module == o or module.startswith(o + ".") for o in OWN)


def _problems(path: Path) -> list[str]:
    """``line: what`` for each import of a critmin module outside :data:`ALLOWED` and each
    name taken from ``critmin`` that it does not export."""
    out: list[str] = []
    exported = set(critmin.__all__)
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            module = node.module
            if module != "critmin" and not module.startswith("critmin."):
                continue
            if not _allowed(module):
                out.append(f"{node.lineno}: from {module} import ...")
            elif module == "critmin":
                out += [
                    f"{node.lineno}: critmin does not export {a.name}"
                    for a in node.names
                    if a.name not in exported
                ]
        elif isinstance(node, ast.Import):
            out += [
                f"{node.lineno}: import {a.name}"
                for a in node.names
                if a.name.startswith("critmin.") and not _allowed(a.name)
            ]
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "critmin"
            and node.attr not in exported
        ):
            out.append(f"{node.lineno}: critmin.{node.attr} is not exported")
    return out


def test_service_uses_only_the_public_api() -> None:
    files = [p for pkg in SERVICE for p in sorted((SRC / pkg).rglob("*.py"))]
    assert len(files) > 10  # the walk found the service
    problems = [f"{p.relative_to(SRC.parents[1])}:{x}" for p in files for x in _problems(p)]
    assert not problems, "the service must import from critmin only:\n" + "\n".join(problems)


def test_the_check_sees_each_kind_of_internal_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from typing import TYPE_CHECKING\n"
        "import critmin\n"
        "from critmin import Ledger, nope\n"
        "from critmin.stockpile.ledger import Lots\n"
        "import critmin.trace.model\n"
        "from critmin.store.db import write_tx\n"
        "from critmin.errors import InputError\n"
        "x = critmin.assess_levy, critmin.stockpile\n"
        "if TYPE_CHECKING:\n"
        "    from critmin.trace.origin import Recipe\n"
    )
    assert sorted(_problems(bad)) == [
        "10: from critmin.trace.origin import ...",
        "3: critmin does not export nope",
        "4: from critmin.stockpile.ledger import ...",
        "5: import critmin.trace.model",
        "8: critmin.stockpile is not exported",
    ]
